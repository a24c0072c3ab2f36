// Package uploads receives, checks and keeps the files customers and agents attach to conversations. A file
// is accepted by what its bytes are, never by its name: the content is sniffed (net/http's sniffer and the
// formats' magic bytes must agree) against a short allowlist — PNG, JPEG, GIF, WebP, PDF and plain UTF-8
// text — and markup (HTML, SVG, XML) is refused whatever it is called. Accepted files are stored under
// <data-dir>/uploads/ with a random name; the client's name is only ever shown and offered as the download
// name, after sanitizing.
package uploads

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/parley-chat/parley/internal/chat"
)

// DefaultMaxBytes is the default upload size limit.
const DefaultMaxBytes = 10 << 20

// maxNameBytes bounds a stored display name (the database column holds 255 characters).
const maxNameBytes = 200

// Kind is one accepted type of file.
type Kind struct {
	ContentType string   // the type the file is served with
	Exts        []string // extensions a name may carry, canonical first
	Image       bool     // shown inline in the chat, and served inline
}

var (
	kindPNG  = Kind{"image/png", []string{".png"}, true}
	kindJPEG = Kind{"image/jpeg", []string{".jpg", ".jpeg", ".jpe", ".jfif"}, true}
	kindGIF  = Kind{"image/gif", []string{".gif"}, true}
	kindWebP = Kind{"image/webp", []string{".webp"}, true}
	kindPDF  = Kind{"application/pdf", []string{".pdf"}, false}
	kindText = Kind{"text/plain; charset=utf-8", []string{".txt", ".log", ".csv", ".md"}, false}
)

// KindOf returns the kind of a stored content type (as recorded at upload), and whether it is one we accept.
func KindOf(contentType string) (Kind, bool) {
	for _, k := range []Kind{kindPNG, kindJPEG, kindGIF, kindWebP, kindPDF, kindText} {
		if k.ContentType == contentType {
			return k, true
		}
	}
	return Kind{}, false
}

// Dir is the file storage: a directory holding one file per attachment, named by a random key, and a tmp/
// directory for uploads in progress (on the same file system, so accepting one is a rename).
type Dir struct {
	root string
}

// Open returns the storage under root, creating it (readable by this user only) when missing.
func Open(root string) (*Dir, error) {
	if err := os.MkdirAll(filepath.Join(root, "tmp"), 0o700); err != nil {
		return nil, fmt.Errorf("create the upload directory %s: %w", root, err)
	}
	return &Dir{root: root}, nil
}

// Upload is a file received into temporary storage, not yet accepted.
type Upload struct {
	d      *Dir
	tmp    string
	Size   int64
	SHA256 string
	head   []byte
}

// Receive streams r into a temporary file, refusing it (TooLarge) past max bytes and removing what was
// written. The caller must Accept or Discard the upload.
func (d *Dir) Receive(r io.Reader, max int64) (*Upload, error) {
	f, err := os.CreateTemp(filepath.Join(d.root, "tmp"), "up-")
	if err != nil {
		return nil, chat.Wrap(chat.CodeUnavailable, err, "cannot store the upload now; retry later")
	}
	u := &Upload{d: d, tmp: f.Name()}
	h := sha256.New()
	head := &capBuffer{max: 512}
	n, err := io.Copy(io.MultiWriter(f, h, head), io.LimitReader(r, max+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		u.Discard()
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, TooLarge(max)
		}
		return nil, chat.Wrap(chat.CodeInvalid, err, "the upload was interrupted")
	}
	if n > max {
		u.Discard()
		return nil, TooLarge(max)
	}
	if n == 0 {
		u.Discard()
		return nil, chat.Invalid("file", "the file is empty")
	}
	u.Size, u.SHA256, u.head = n, hex.EncodeToString(h.Sum(nil)), head.b
	return u, nil
}

// TooLarge is the error for a file over max bytes.
func TooLarge(max int64) error {
	return &chat.Error{Code: chat.CodeTooLarge, Field: "file", Message: fmt.Sprintf("the file is larger than %s", humanBytes(max))}
}

func humanBytes(n int64) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MB", n>>20)
	}
	if n >= 1<<10 && n%(1<<10) == 0 {
		return fmt.Sprintf("%d KB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// capBuffer keeps the first max bytes written to it: the head the sniffer looks at.
type capBuffer struct {
	b   []byte
	max int
}

func (c *capBuffer) Write(p []byte) (int, error) {
	if room := c.max - len(c.b); room > 0 {
		c.b = append(c.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

// Check decides what the upload is from its content and returns its kind and the sanitized display name. It
// refuses (Unsupported) anything off the allowlist, markup whatever its name, and a name whose extension
// says another type than the content; a name without an extension gets the canonical one.
func (u *Upload) Check(name string) (Kind, string, error) {
	k, err := u.sniff()
	if err != nil {
		return Kind{}, "", err
	}
	name = SanitizeName(name)
	ext := strings.ToLower(path.Ext(name))
	switch {
	case ext == "" || ext == ".":
		name = strings.TrimSuffix(name, ".") + k.Exts[0]
	case !contains(k.Exts, ext):
		return Kind{}, "", &chat.Error{Code: chat.CodeUnsupported, Field: "file",
			Message: fmt.Sprintf("the file's content is %s but its name ends in %s; rename it or send another file", k.label(), ext)}
	}
	return k, name, nil
}

func (k Kind) label() string {
	switch k.ContentType {
	case kindText.ContentType:
		return "plain text"
	case kindPDF.ContentType:
		return "a PDF document"
	}
	return "a " + strings.ToUpper(strings.TrimPrefix(k.Exts[0], ".")) + " image"
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

var errUnsupported = &chat.Error{Code: chat.CodeUnsupported, Field: "file",
	Message: "this type of file is not accepted: send an image (PNG, JPEG, GIF, WebP), a PDF or a plain text file"}

// sniff classifies the content. Each binary format needs its magic bytes and net/http's sniffer to agree;
// text must be valid UTF-8 without NUL bytes and must not be a markup document.
func (u *Upload) sniff() (Kind, error) {
	head := u.head
	detected := http.DetectContentType(head)
	var k Kind
	switch {
	case bytes.HasPrefix(head, []byte("\x89PNG\r\n\x1a\n")):
		k = kindPNG
	case bytes.HasPrefix(head, []byte{0xFF, 0xD8, 0xFF}):
		k = kindJPEG
	case bytes.HasPrefix(head, []byte("GIF87a")), bytes.HasPrefix(head, []byte("GIF89a")):
		k = kindGIF
	case len(head) >= 12 && bytes.HasPrefix(head, []byte("RIFF")) && string(head[8:12]) == "WEBP":
		k = kindWebP
	case bytes.HasPrefix(head, []byte("%PDF-")):
		k = kindPDF
	default:
		if !strings.HasPrefix(detected, "text/plain") {
			return Kind{}, errUnsupported
		}
		body, err := os.ReadFile(u.tmp)
		if err != nil {
			return Kind{}, chat.Wrap(chat.CodeUnavailable, err, "cannot read the upload back; retry")
		}
		if !IsPlainText(body) {
			return Kind{}, errUnsupported
		}
		return kindText, nil
	}
	if detected != k.ContentType {
		return Kind{}, errUnsupported
	}
	return k, nil
}

// markupTags are the openings of active content that a "text" file must not carry: a browser that ever
// rendered such a file as a page would run it.
var markupTags = [][]byte{[]byte("<script"), []byte("<svg"), []byte("<html"), []byte("<iframe"), []byte("<object"),
	[]byte("<embed"), []byte("<!doctype"), []byte("<?xml"), []byte("<body"), []byte("<img"), []byte("<meta")}

// IsPlainText reports whether b is acceptable as a plain text attachment: valid UTF-8 (a BOM is fine), no
// NUL or other C0 controls but tab, newline, carriage return and form feed, not starting like a markup
// document, and free of HTML/SVG tags that carry script.
func IsPlainText(b []byte) bool {
	b = bytes.TrimPrefix(b, []byte("\xEF\xBB\xBF"))
	if !utf8.Valid(b) {
		return false
	}
	for _, c := range b {
		if c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' {
			return false
		}
	}
	if t := bytes.TrimLeftFunc(b, unicode.IsSpace); len(t) > 0 && t[0] == '<' {
		return false
	}
	lower := bytes.ToLower(b)
	for _, tag := range markupTags {
		if bytes.Contains(lower, tag) {
			return false
		}
	}
	return true
}

// SanitizeName turns a client's file name into a safe display name: the last path element only (no
// directories, so "../../x" is "x"), without control and bidirectional-override characters (which can
// disguise an extension: "gnp.exe" shown backwards), without leading dots or trailing dots and spaces, at
// most 200 bytes with the extension kept. An empty result is "file".
func SanitizeName(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		switch {
		case r == utf8.RuneError, unicode.IsControl(r), unicode.Is(unicode.Bidi_Control, r),
			r >= 0x200B && r <= 0x200F, r == 0xFEFF, r == '"', r == ':', r == '*', r == '?', r == '<', r == '>', r == '|':
			return -1
		}
		return r
	}, name)
	name = strings.TrimLeft(strings.TrimSpace(name), ".")
	name = strings.TrimRight(name, ". ")
	if len(name) > maxNameBytes {
		ext := path.Ext(name)
		if len(ext) > 16 {
			ext = ""
		}
		stem := name[:maxNameBytes-len(ext)]
		for !utf8.ValidString(stem) {
			stem = stem[:len(stem)-1]
		}
		name = strings.TrimRight(stem, ". ") + ext
	}
	if name == "" || strings.TrimLeft(name, ".") == "" {
		return "file"
	}
	return name
}

// Accept moves a checked upload into permanent storage under a new random key and returns the key.
func (u *Upload) Accept() (string, error) {
	key := strings.ToLower(rand.Text())
	p := u.d.path(key)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return "", chat.Wrap(chat.CodeUnavailable, err, "cannot store the upload now; retry later")
	}
	if err := os.Rename(u.tmp, p); err != nil {
		return "", chat.Wrap(chat.CodeUnavailable, err, "cannot store the upload now; retry later")
	}
	u.tmp = ""
	return key, nil
}

// Discard removes a received upload that was not accepted. It is safe to call more than once.
func (u *Upload) Discard() {
	if u.tmp != "" {
		os.Remove(u.tmp)
		u.tmp = ""
	}
}

// path maps a key to its file: keys are spread over 32 subdirectories by their first character.
func (d *Dir) path(key string) string {
	return filepath.Join(d.root, key[:1], key)
}

// validKey reports whether key has the form Accept generates (lower-case base32): a key read back from the
// database can never name a file outside the storage directory.
func validKey(key string) bool {
	if len(key) != 26 {
		return false
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		if !(c >= 'a' && c <= 'z' || c >= '2' && c <= '7') {
			return false
		}
	}
	return true
}

// Open opens a stored file for reading.
func (d *Dir) Open(key string) (*os.File, error) {
	if !validKey(key) {
		return nil, chat.ErrNotFound("attachment")
	}
	f, err := os.Open(d.path(key))
	if errors.Is(err, os.ErrNotExist) {
		return nil, chat.ErrNotFound("attachment")
	}
	if err != nil {
		return nil, chat.Wrap(chat.CodeUnavailable, err, "cannot read the attachment now; retry later")
	}
	return f, nil
}

// Remove deletes a stored file; a missing one is not an error.
func (d *Dir) Remove(key string) error {
	if !validKey(key) {
		return nil
	}
	if err := os.Remove(d.path(key)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// Exists reports whether a stored file is present (tests).
func (d *Dir) Exists(key string) bool {
	if !validKey(key) {
		return false
	}
	_, err := os.Stat(d.path(key))
	return err == nil
}
