package uploads_test

import (
	"bytes"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/uploads"
)

// Samples returns one small valid file of every accepted kind, keyed by a name with the right extension.
func samples(t *testing.T) map[string][]byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 4, 4))
	img.Set(1, 1, color.RGBA{R: 255, A: 255})
	var p, j, g bytes.Buffer
	if err := png.Encode(&p, img); err != nil {
		t.Fatal(err)
	}
	if err := jpeg.Encode(&j, img, nil); err != nil {
		t.Fatal(err)
	}
	if err := gif.Encode(&g, img, nil); err != nil {
		t.Fatal(err)
	}
	webp := append([]byte("RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00"), bytes.Repeat([]byte{0}, 13)...)
	return map[string][]byte{
		"a.png":  p.Bytes(),
		"a.jpg":  j.Bytes(),
		"a.gif":  g.Bytes(),
		"a.webp": webp,
		"a.pdf":  []byte("%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"),
		"a.txt":  []byte("订单号 12345\nOrder 12345, see https://example.com/a?b=1\n"),
	}
}

func check(t *testing.T, d *uploads.Dir, body []byte, name string, max int64) (uploads.Kind, string, error) {
	t.Helper()
	up, err := d.Receive(bytes.NewReader(body), max)
	if err != nil {
		return uploads.Kind{}, "", err
	}
	defer up.Discard()
	return up.Check(name)
}

func TestAcceptedKinds(t *testing.T) {
	d, err := uploads.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"a.png": "image/png", "a.jpg": "image/jpeg", "a.gif": "image/gif", "a.webp": "image/webp",
		"a.pdf": "application/pdf", "a.txt": "text/plain; charset=utf-8"}
	for name, body := range samples(t) {
		k, got, err := check(t, d, body, name, 1<<20)
		if err != nil {
			t.Errorf("%s: refused: %v", name, err)
			continue
		}
		if k.ContentType != want[name] || got != name {
			t.Errorf("%s: kind %q name %q", name, k.ContentType, got)
		}
		if k.Image != strings.HasPrefix(want[name], "image/") {
			t.Errorf("%s: Image = %v", name, k.Image)
		}
	}
	// A name without an extension gets the content's.
	if _, got, err := check(t, d, samples(t)["a.png"], "screenshot", 1<<20); err != nil || got != "screenshot.png" {
		t.Errorf("no extension: %q, %v", got, err)
	}
	// Upper-case and alternative extensions of the same type are fine.
	if _, got, err := check(t, d, samples(t)["a.jpg"], "PHOTO.JPEG", 1<<20); err != nil || got != "PHOTO.JPEG" {
		t.Errorf("JPEG extension: %q, %v", got, err)
	}
}

// TestRefused is RELIABILITY.md B8's upload corpus at the unit level: the type comes from the content, markup
// is refused whatever it is called, and a name must not claim another type.
func TestRefused(t *testing.T) {
	d, err := uploads.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s := samples(t)
	for _, c := range []struct {
		what, name string
		body       []byte
	}{
		{"HTML renamed .png", "cat.png", []byte("<!DOCTYPE html><html><script>window.__xss=1</script></html>")},
		{"HTML without doctype", "cat.png", []byte("<html><body onload=alert(1)>")},
		{"SVG with script renamed .png", "cat.png", []byte(`<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(1)</script></svg>`)},
		{"SVG with XML declaration", "cat.svg", []byte(`<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>`)},
		{"SVG fetching an internal URL", "avatar.png", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><image href="http://169.254.169.254/latest"/></svg>`)},
		{"text carrying a script tag", "notes.txt", []byte("hello\n<script>alert(1)</script>\n")},
		{"JPEG content named .png", "photo.png", s["a.jpg"]},
		{"PNG content named .exe", "setup.exe", s["a.png"]},
		{"PDF named .png", "doc.png", s["a.pdf"]},
		{"PNG named .svg", "x.svg", s["a.png"]},
		{"text named .html", "page.html", []byte("just text")},
		{"binary", "blob.bin", []byte{0x00, 0x01, 0x02, 0x03, 0xfe, 0xff}},
		{"zip", "a.zip", []byte("PK\x03\x04\x14\x00\x00\x00\x08\x00")},
		{"executable", "a.png", []byte("MZ\x90\x00\x03\x00\x00\x00\x04\x00")},
		{"text with NUL", "a.txt", []byte("abc\x00def")},
		{"invalid UTF-8 text", "a.txt", []byte("abc\xff\xfedef")},
	} {
		_, _, err := check(t, d, c.body, c.name, 1<<20)
		if !chat.IsCode(err, chat.CodeUnsupported) {
			t.Errorf("%s: err = %v, want unsupported", c.what, err)
		}
	}
}

func TestSizeLimitAndCleanup(t *testing.T) {
	root := t.TempDir()
	d, err := uploads.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Receive(bytes.NewReader(bytes.Repeat([]byte("a"), 2049)), 2048); !chat.IsCode(err, chat.CodeTooLarge) {
		t.Fatalf("oversized: err = %v", err)
	}
	if _, err := d.Receive(bytes.NewReader(nil), 2048); !chat.IsCode(err, chat.CodeInvalid) {
		t.Fatalf("empty: err = %v", err)
	}
	up, err := d.Receive(bytes.NewReader(bytes.Repeat([]byte("a"), 2048)), 2048)
	if err != nil {
		t.Fatalf("exactly the limit: %v", err)
	}
	key, err := up.Accept()
	if err != nil {
		t.Fatal(err)
	}
	if !d.Exists(key) || strings.ContainsAny(key, `/\.`) || len(key) != 26 {
		t.Fatalf("key %q", key)
	}
	// Nothing is left in tmp/: refused uploads are removed, the accepted one moved.
	if left, _ := os.ReadDir(filepath.Join(root, "tmp")); len(left) != 0 {
		t.Fatalf("tmp/ holds %d files", len(left))
	}
	f, err := d.Open(key)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := d.Remove(key); err != nil || d.Exists(key) {
		t.Fatalf("remove: %v", err)
	}
	// Keys that are not ours never reach the file system.
	for _, k := range []string{"../../etc/passwd", "", "A234567ABCDEFGHIJKLMNOPQRS", strings.Repeat("a", 27)} {
		if _, err := d.Open(k); !chat.IsCode(err, chat.CodeNotFound) {
			t.Errorf("Open(%q): err = %v", k, err)
		}
	}
}

func TestSanitizeName(t *testing.T) {
	for in, want := range map[string]string{
		"report.pdf":                "report.pdf",
		"../../etc/passwd":          "passwd",
		`..\..\windows\system.ini`:  "system.ini",
		"/abs/path/x.png":           "x.png",
		"..":                        "file",
		"...":                       "file",
		"":                          "file",
		".htaccess":                 "htaccess",
		"name. ":                    "name",
		"a\x00b\nc.txt":             "abc.txt",
		"invoice\u202Egnp.exe":      "invoicegnp.exe",
		"zero\u200Bwidth.txt":       "zerowidth.txt",
		`quote"d:na*me?.txt`:        "quotedname.txt",
		"订单 截图.png":                 "订单 截图.png",
		"<img src=x onerror=1>.png": "img src=x onerror=1.png",
	} {
		if got := uploads.SanitizeName(in); got != want {
			t.Errorf("SanitizeName(%q) = %q, want %q", in, got, want)
		}
	}
	long := strings.Repeat("长", 100) + ".png" // 300 bytes of name
	got := uploads.SanitizeName(long)
	if len(got) > 200 || !strings.HasSuffix(got, ".png") || !strings.HasPrefix(got, "长") {
		t.Errorf("long name: %q (%d bytes)", got, len(got))
	}
}
