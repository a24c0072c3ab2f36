package httpapi

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"path/filepath"
	"strconv"
	"time"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/messaging"
	"github.com/parley-chat/parley/internal/uploads"
	"github.com/parley-chat/parley/protocol"
)

// attachmentRoutes registers uploads, downloads, ratings and transcripts. Customers (visitor token, from an
// allowed origin of their site) and agents use the same endpoints; every one authorizes per conversation.
func (s *Server) attachmentRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /api/v1/conversations/{id}/attachments", s.anyPrincipal(s.uploadAttachment))
	mux.HandleFunc("GET /api/v1/attachments/{id}", s.anyPrincipal(s.downloadAttachment))
	mux.HandleFunc("POST /api/v1/conversations/{id}/rating", s.anyPrincipal(s.rateConversation))
	mux.HandleFunc("GET /api/v1/conversations/{id}/rating", s.anyPrincipal(s.conversationRating))
	mux.HandleFunc("GET /api/v1/conversations/{id}/transcript", s.anyPrincipal(s.transcript))
}

// multipartSlack is what a multipart envelope may add to the file it carries (boundaries, part headers).
const multipartSlack = 64 << 10

func (s *Server) uploadLimit() int64 {
	if s.cfg.UploadMaxBytes > 0 {
		return s.cfg.UploadMaxBytes
	}
	return uploads.DefaultMaxBytes
}

func (s *Server) uploadDir() (*uploads.Dir, error) {
	d, err := uploads.Open(filepath.Join(s.cfg.DataDir, "uploads"))
	if err != nil {
		return nil, chat.Wrap(chat.CodeUnavailable, err, "file storage is unavailable; retry later")
	}
	return d, nil
}

// attachmentAck is the answer to an upload: the send's acknowledgement with the stored message, so the
// uploader can show it at once.
type attachmentAck struct {
	protocol.ServerFrame
	Attachment messaging.AttachmentRef `json:"attachment"`
}

// uploadAttachment receives a file (POST /api/v1/conversations/{id}/attachments) as multipart/form-data (the
// part named "file") or as the raw request body with ?filename=. The Idempotency-Key header is the client
// message id of the message that shows the file: a retry of the same upload sends it once. The content decides
// the type (see package uploads); the client's name is only the display name.
func (s *Server) uploadAttachment(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p := principalOf(ctx)
	limit := s.uploadLimit()
	if r.ContentLength > limit+multipartSlack {
		s.writeError(w, r, uploads.TooLarge(limit))
		return
	}
	key := r.Header.Get("Idempotency-Key")
	if key == "" {
		key = "up-" + rand.Text()
	}
	if err := chat.ValidateClientMsgID(key); err != nil {
		s.writeError(w, r, err)
		return
	}
	conv, err := s.msg.CheckUpload(ctx, p, r.PathValue("id"), max(r.ContentLength, 0))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	dir, err := s.uploadDir()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit+multipartSlack)
	up, name, err := receive(r, dir, limit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	defer up.Discard()
	kind, name, err := up.Check(name)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	stored, err := up.Accept()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	a := &chat.Attachment{Name: name, ContentType: kind.ContentType, Size: up.Size, SHA256: up.SHA256, StorageKey: stored}
	res, err := s.msg.Attach(ctx, p, messaging.AttachInput{ConversationID: conv.ID, ClientMsgID: key, Attachment: a, Image: kind.Image})
	if err != nil || res.Duplicate {
		if rerr := dir.Remove(stored); rerr != nil {
			s.log.Warn("remove an unused upload", "err", rerr)
		}
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := attachmentAck{ServerFrame: s.msg.Ack("", res)}
	out.Message = messaging.WireMessage(res.Message, p.Customer != nil)
	out.Attachment = messaging.AttachmentRef{ID: a.ID, Name: a.Name, Size: a.Size, Type: a.ContentType}
	status := http.StatusCreated
	if res.Duplicate {
		status = http.StatusOK
		var meta messaging.AttachmentMeta
		if err := json.Unmarshal(res.Message.Meta, &meta); err == nil {
			out.Attachment = meta.Attachment
		}
	}
	writeJSON(w, status, out)
}

// receive reads the upload's bytes into temporary storage and returns them with the client's file name.
func receive(r *http.Request, dir *uploads.Dir, max int64) (*uploads.Upload, string, error) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "multipart/form-data" {
		up, err := dir.Receive(r.Body, max)
		return up, r.URL.Query().Get("filename"), tooBig(err, max)
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, "", chat.Invalid("file", "malformed multipart body")
	}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil, "", chat.Invalid("file", "send the file in a form field named \"file\"")
		}
		if err != nil {
			return nil, "", tooBig(chat.Wrap(chat.CodeInvalid, err, "malformed multipart body"), max)
		}
		if part.FormName() != "file" {
			part.Close()
			continue
		}
		up, err := dir.Receive(part, max)
		part.Close()
		return up, part.FileName(), tooBig(err, max)
	}
}

// tooBig reports a body cut off by http.MaxBytesReader as the size error it is.
func tooBig(err error, max int64) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return uploads.TooLarge(max)
	}
	return err
}

// downloadAttachment serves a file to the participants of its conversation (GET /api/v1/attachments/{id});
// anyone else gets the same 404 as for a file that does not exist. Images are served inline (the chat shows
// them), everything else as a download; always with nosniff and a sandboxing CSP, so even a file a browser
// opened directly could run nothing.
func (s *Server) downloadAttachment(w http.ResponseWriter, r *http.Request) {
	a, err := s.msg.Attachment(r.Context(), principalOf(r.Context()), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	dir, err := s.uploadDir()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	f, err := dir.Open(a.StorageKey)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	defer f.Close()
	kind, known := uploads.KindOf(a.ContentType)
	ctype, disposition := "application/octet-stream", "attachment"
	if known {
		ctype = kind.ContentType
		if kind.Image {
			disposition = "inline"
		}
	}
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("Content-Disposition", mime.FormatMediaType(disposition, map[string]string{"filename": a.Name}))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'")
	// Content never changes under an id; only the participants may hold it, so no shared cache may.
	h.Set("Cache-Control", "private, max-age=86400, immutable")
	h.Set("ETag", `"`+a.SHA256[:32]+`"`)
	http.ServeContent(w, r, "", a.CreatedAt, f)
}

type ratingRequest struct {
	Score   int    `json:"score"`
	Comment string `json:"comment"`
}

// rateConversation stores the customer's rating of their closed conversation (POST .../rating, once).
func (s *Server) rateConversation(w http.ResponseWriter, r *http.Request) {
	var in ratingRequest
	if err := decodeJSON(w, r, &in, 8<<10); err != nil {
		s.writeError(w, r, err)
		return
	}
	rating, err := s.msg.Rate(r.Context(), principalOf(r.Context()), r.PathValue("id"), in.Score, in.Comment)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, rating)
}

// conversationRating returns a conversation's rating (GET .../rating), 404 when it has none.
func (s *Server) conversationRating(w http.ResponseWriter, r *http.Request) {
	rating, err := s.msg.Rating(r.Context(), principalOf(r.Context()), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rating)
}

// transcript answers a plain-text transcript as a download (GET .../transcript?lang=zh-CN&tz_offset=-480).
// tz_offset is the reader's offset in minutes as JavaScript's Date.getTimezoneOffset gives it (UTC minus
// local), so times show in the reader's zone without the server needing a time zone database.
func (s *Server) transcript(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	o := messaging.TranscriptOptions{Chinese: len(q.Get("lang")) >= 2 && q.Get("lang")[:2] == "zh"}
	if v := q.Get("tz_offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < -14*60 || n > 14*60 {
			s.writeError(w, r, chat.Invalid("tz_offset", "tz_offset must be minutes between -840 and 840"))
			return
		}
		o.Zone = time.FixedZone("", -n*60)
	}
	// Rendered in memory first, so a failure part-way is still a proper error answer, not a cut-off file.
	var buf bytes.Buffer
	if err := s.msg.Transcript(r.Context(), principalOf(r.Context()), r.PathValue("id"), o, &buf); err != nil {
		s.writeError(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": "transcript-" + r.PathValue("id")[:8] + ".txt"}))
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'")
	w.Write(buf.Bytes())
}
