package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/internal/apptest"
	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/store/storetest"
)

// uploader talks to a node's attachment endpoints with raw HTTP (multipart bodies, headers to inspect).
type uploader struct {
	t    *testing.T
	base string
	hc   *http.Client
}

func newUploader(t *testing.T, base string) *uploader {
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &uploader{t: t, base: base, hc: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

func (u *uploader) do(req *http.Request) answer {
	u.t.Helper()
	res, err := u.hc.Do(req)
	if err != nil {
		u.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return answer{res.StatusCode, res.Header, b}
}

// upload posts body as the multipart field "file" named name, with key as the Idempotency-Key.
func (u *uploader) upload(token, conv, name string, body []byte, key string) answer {
	u.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("note", "ignored")
	fw, _ := mw.CreateFormFile("file", name)
	fw.Write(body)
	mw.Close()
	req, _ := http.NewRequest("POST", u.base+"/api/v1/conversations/"+conv+"/attachments", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	return u.do(req)
}

// uploadRaw posts body as the raw request body with ?filename=.
func (u *uploader) uploadRaw(token, conv, name string, body []byte) answer {
	u.t.Helper()
	req, _ := http.NewRequest("POST", u.base+"/api/v1/conversations/"+conv+"/attachments?filename="+url.QueryEscape(name), bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("Authorization", "Bearer "+token)
	return u.do(req)
}

func (u *uploader) get(token, path string) answer {
	u.t.Helper()
	req, _ := http.NewRequest("GET", u.base+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return u.do(req)
}

type uploadAck struct {
	Type       string `json:"type"`
	Seq        uint64 `json:"seq"`
	ID         string `json:"id"`
	Duplicate  bool   `json:"duplicate"`
	Attachment struct {
		ID   string `json:"id"`
		Name string `json:"name"`
		Size int64  `json:"size"`
		Type string `json:"type"`
	} `json:"attachment"`
	Message struct {
		Seq  uint64          `json:"seq"`
		Type string          `json:"type"`
		Body string          `json:"body"`
		Meta json.RawMessage `json:"meta"`
	} `json:"message"`
}

func (a answer) ack(t *testing.T, status int) uploadAck {
	t.Helper()
	if a.status != status {
		t.Fatalf("status %d, want %d: %s", a.status, status, a.body)
	}
	var ack uploadAck
	if err := json.Unmarshal(a.body, &ack); err != nil {
		t.Fatalf("ack %s: %v", a.body, err)
	}
	return ack
}

func (a answer) code(t *testing.T, status int, code string) {
	t.Helper()
	var e struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	json.Unmarshal(a.body, &e)
	if a.status != status || e.Error.Code != code {
		t.Fatalf("answer %d %s, want %d %s", a.status, a.body, status, code)
	}
}

func pngBytes(t *testing.T) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	for i := 0; i < 8; i++ {
		img.Set(i, i, color.RGBA{B: 200, A: 255})
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func jpegBytes(t *testing.T) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, image.NewRGBA(image.Rect(0, 0, 8, 8)), nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// storedFiles lists the files in the node's upload storage (excluding uploads in progress).
func storedFiles(t *testing.T, dataDir string) []string {
	var out []string
	filepath.WalkDir(filepath.Join(dataDir, "uploads"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			out = append(out, p)
		}
		return nil
	})
	return out
}

func TestAttachmentUploadDownload(t *testing.T) {
	storetest.Each(t, func(t *testing.T, kind string) {
		n := apptest.Start(t, kind, apptest.Options{Args: []string{"-upload-max-bytes", "65536", "-customer-msg-burst", "200"}})
		ctx := context.Background()
		u := newUploader(t, n.URL)
		alice := n.Customer("Alice")
		conv, err := alice.StartConversation(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		img := pngBytes(t)

		// An image: stored, announced by an image message, served inline to the customer and to agents.
		ack := u.upload(alice.Token, conv.ID, "截图.png", img, "up-1").ack(t, http.StatusCreated)
		if ack.Type != "ack" || ack.Seq != 1 || ack.Message.Type != "image" || ack.Attachment.Type != "image/png" ||
			ack.Attachment.Name != "截图.png" || ack.Attachment.Size != int64(len(img)) {
			t.Fatalf("ack %+v", ack)
		}
		var meta struct {
			Attachment struct{ ID, Name, Type string } `json:"attachment"`
		}
		if err := json.Unmarshal(ack.Message.Meta, &meta); err != nil || meta.Attachment.ID != ack.Attachment.ID {
			t.Fatalf("meta %s: %v", ack.Message.Meta, err)
		}
		path := "/api/v1/attachments/" + ack.Attachment.ID
		for who, token := range map[string]string{"customer": alice.Token, "admin": n.Admin.Token,
			"team agent": n.Agent("agent@example.com", chat.RoleAgent).Token} {
			got := u.get(token, path)
			if got.status != 200 || !bytes.Equal(got.body, img) {
				t.Fatalf("%s download: %d, %d bytes", who, got.status, len(got.body))
			}
			disp, params, _ := mime.ParseMediaType(got.header.Get("Content-Disposition"))
			for h, want := range map[string]string{"Content-Type": "image/png", "X-Content-Type-Options": "nosniff",
				"Content-Security-Policy": "sandbox; default-src 'none'"} {
				if got.header.Get(h) != want {
					t.Errorf("%s: %s = %q, want %q", who, h, got.header.Get(h), want)
				}
			}
			if disp != "inline" || params["filename"] != "截图.png" {
				t.Errorf("%s: Content-Disposition %q", who, got.header.Get("Content-Disposition"))
			}
		}

		// The same upload again (a retry after a lost answer): the original message, nothing new stored.
		again := u.upload(alice.Token, conv.ID, "截图.png", img, "up-1").ack(t, http.StatusOK)
		if !again.Duplicate || again.Seq != 1 || again.Attachment.ID != ack.Attachment.ID {
			t.Fatalf("retry ack %+v", again)
		}
		if files := storedFiles(t, n.DataDir); len(files) != 1 {
			t.Fatalf("after a retried upload the storage holds %v", files)
		}

		// A PDF is a download, never shown inline; a raw-body text file without extension gets ".txt".
		pdf := u.upload(alice.Token, conv.ID, "invoice.pdf", []byte("%PDF-1.4\n/JS (app.alert(1))\n%%EOF"), "up-2").ack(t, http.StatusCreated)
		if pdf.Message.Type != "file" {
			t.Fatalf("pdf message type %q", pdf.Message.Type)
		}
		got := u.get(alice.Token, "/api/v1/attachments/"+pdf.Attachment.ID)
		if disp, _, _ := mime.ParseMediaType(got.header.Get("Content-Disposition")); disp != "attachment" ||
			got.header.Get("Content-Type") != "application/pdf" || got.header.Get("Content-Security-Policy") != "sandbox; default-src 'none'" {
			t.Fatalf("pdf served with %v", got.header)
		}
		txt := u.uploadRaw(alice.Token, conv.ID, "notes", []byte("order 42\n")).ack(t, http.StatusCreated)
		if txt.Attachment.Name != "notes.txt" || txt.Attachment.Type != "text/plain; charset=utf-8" {
			t.Fatalf("text ack %+v", txt.Attachment)
		}

		// The messages are in the conversation's history, in order, for the agent too.
		page, err := n.Admin.After(ctx, conv.ID, 0, 10)
		if err != nil || len(page.Messages) != 3 || page.Messages[0].Type != "image" || page.Messages[1].Type != "file" {
			t.Fatalf("history %+v, %v", page, err)
		}
	})
}

// TestAttachmentB8 is RELIABILITY.md B8 over HTTP: content/name mismatches, markup in disguise, path traversal
// in names, oversized bodies, and other people's files.
func TestAttachmentB8(t *testing.T) {
	storetest.Each(t, func(t *testing.T, kind string) {
		n := apptest.Start(t, kind, apptest.Options{Args: []string{"-upload-max-bytes", "4096", "-customer-msg-burst", "200"}})
		ctx := context.Background()
		u := newUploader(t, n.URL)
		alice, bob := n.Customer("Alice"), n.Customer("Bob")
		conv, err := alice.StartConversation(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		bobConv, err := bob.StartConversation(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			what, name string
			body       []byte
		}{
			{"HTML renamed .png", "cat.png", []byte("<!DOCTYPE html><script>window.__xss=1</script>")},
			{"SVG with script renamed .png", "cat.png", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`)},
			{"SVG", "cat.svg", []byte(`<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>`)},
			{"HTML", "page.html", []byte("<html><body>hi</body></html>")},
			{"JPEG named .png", "photo.png", jpegBytes(t)},
			{"PNG named .exe", "setup.exe", pngBytes(t)},
			{"PNG named .html", "x.html", pngBytes(t)},
		} {
			u.upload(alice.Token, conv.ID, c.name, c.body, "").code(t, http.StatusUnsupportedMediaType, "unsupported")
		}

		// Path traversal in the name: neutralized to the last element; the file lives under a random name.
		ack := u.upload(alice.Token, conv.ID, "../../../../etc/passwd.png", pngBytes(t), "").ack(t, http.StatusCreated)
		if ack.Attachment.Name != "passwd.png" {
			t.Fatalf("traversal name stored as %q", ack.Attachment.Name)
		}
		ack2 := u.uploadRaw(alice.Token, conv.ID, `..\..\windows\win.png`, pngBytes(t)).ack(t, http.StatusCreated)
		if ack2.Attachment.Name != "win.png" {
			t.Fatalf("backslash traversal name stored as %q", ack2.Attachment.Name)
		}
		files := storedFiles(t, n.DataDir)
		if len(files) != 2 {
			t.Fatalf("stored files %v", files)
		}
		for _, f := range files {
			if strings.Contains(f, "passwd") || strings.Contains(f, "win") || !strings.HasPrefix(f, filepath.Join(n.DataDir, "uploads")) {
				t.Fatalf("stored under a client-chosen name: %s", f)
			}
		}

		// Oversized, as multipart and as a raw body; and empty. Nothing is left behind.
		big := append(pngBytes(t), bytes.Repeat([]byte{0}, 5000)...)
		u.upload(alice.Token, conv.ID, "big.png", big, "").code(t, http.StatusRequestEntityTooLarge, "too_large")
		u.uploadRaw(alice.Token, conv.ID, "big.png", big).code(t, http.StatusRequestEntityTooLarge, "too_large")
		u.upload(alice.Token, conv.ID, "empty.png", nil, "").code(t, http.StatusBadRequest, "invalid")
		if left, _ := os.ReadDir(filepath.Join(n.DataDir, "uploads", "tmp")); len(left) != 0 {
			t.Fatalf("uploads/tmp holds %d files after refused uploads", len(left))
		}
		if files := storedFiles(t, n.DataDir); len(files) != 2 {
			t.Fatalf("refused uploads were stored: %v", files)
		}

		// Another customer's file, conversation, rating and transcript: the same 404 as for nothing at all.
		path := "/api/v1/attachments/" + ack.Attachment.ID
		u.get(bob.Token, path).code(t, http.StatusNotFound, "not_found")
		u.get(bob.Token, "/api/v1/attachments/01900000-0000-7000-8000-000000000000").code(t, http.StatusNotFound, "not_found")
		u.get(bob.Token, "/api/v1/attachments/..%2f..%2fparley.db").code(t, http.StatusNotFound, "not_found")
		u.get("", path).code(t, http.StatusUnauthorized, "unauthorized")
		u.upload(bob.Token, conv.ID, "x.png", pngBytes(t), "").code(t, http.StatusNotFound, "not_found")
		u.get(bob.Token, "/api/v1/conversations/"+conv.ID+"/transcript").code(t, http.StatusNotFound, "not_found")
		u.get(alice.Token, "/api/v1/conversations/"+bobConv.ID+"/rating").code(t, http.StatusNotFound, "not_found")

		// An agent outside the conversation's team does not get the file either.
		other, err := n.App.Store.CreateTeam(ctx, "Other")
		if err != nil {
			t.Fatal(err)
		}
		var outsider client.Agent
		if _, err := n.Admin.Do(ctx, "POST", "/api/v1/agents", map[string]any{"email": "out@example.com", "name": "Out",
			"password": apptest.Password, "role": "agent", "teams": []string{other.ID}}, &outsider); err != nil {
			t.Fatal(err)
		}
		outAPI := &client.API{BaseURL: n.URL}
		if _, err := outAPI.Login(ctx, "out@example.com", apptest.Password); err != nil {
			t.Fatal(err)
		}
		u.get(outAPI.Token, path).code(t, http.StatusNotFound, "not_found")

		// A closed conversation takes no more files.
		if _, err := alice.CloseConversation(ctx, conv.ID); err != nil {
			t.Fatal(err)
		}
		u.upload(alice.Token, conv.ID, "late.png", pngBytes(t), "").code(t, http.StatusConflict, "conversation_closed")
	})
}

func TestRatingAndTranscript(t *testing.T) {
	storetest.Each(t, func(t *testing.T, kind string) {
		n := apptest.Start(t, kind, apptest.Options{})
		ctx := context.Background()
		u := newUploader(t, n.URL)
		alice := n.Customer("Alice")
		conv, err := alice.StartConversation(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		agent := n.Agent("li@example.com", chat.RoleAgent)
		if _, err := alice.PostMessage(ctx, conv.ID, "c1", "你好，我的订单没到\n第二行", ""); err != nil {
			t.Fatal(err)
		}
		if _, err := agent.PostMessage(ctx, conv.ID, "a1", "We are checking", ""); err != nil {
			t.Fatal(err)
		}
		if _, err := agent.PostMessage(ctx, conv.ID, "a2", "secret note about the customer", "note"); err != nil {
			t.Fatal(err)
		}
		rate := func(api *client.API, score int, comment string) error {
			_, err := api.Do(ctx, "POST", "/api/v1/conversations/"+conv.ID+"/rating", map[string]any{"score": score, "comment": comment}, nil)
			return err
		}
		if err := rate(alice, 5, ""); client.Code(err) != "conflict" {
			t.Fatalf("rating an open conversation: %v", err)
		}
		if _, err := agent.CloseConversation(ctx, conv.ID); err != nil {
			t.Fatal(err)
		}
		if err := rate(agent, 5, ""); client.Code(err) != "forbidden" {
			t.Fatalf("an agent rating: %v", err)
		}
		for _, bad := range []int{0, 6, -1} {
			if err := rate(alice, bad, ""); client.Code(err) != "invalid" {
				t.Fatalf("score %d: %v", bad, err)
			}
		}
		if err := rate(alice, 4, "快速解决 👍"); err != nil {
			t.Fatal(err)
		}
		if err := rate(alice, 1, "changed my mind"); client.Code(err) != "conflict" {
			t.Fatalf("second rating: %v", err)
		}
		var r chat.Rating
		if _, err := agent.Do(ctx, "GET", "/api/v1/conversations/"+conv.ID+"/rating", nil, &r); err != nil || r.Score != 4 || r.Comment != "快速解决 👍" {
			t.Fatalf("rating %+v, %v", r, err)
		}

		// The customer's transcript: their words as "You", the agent's, the close; never the internal note.
		tr := u.get(alice.Token, "/api/v1/conversations/"+conv.ID+"/transcript?tz_offset=-480")
		if tr.status != 200 || tr.header.Get("Content-Type") != "text/plain; charset=utf-8" {
			t.Fatalf("transcript: %d %v", tr.status, tr.header)
		}
		if disp, _, _ := mime.ParseMediaType(tr.header.Get("Content-Disposition")); disp != "attachment" {
			t.Fatalf("transcript disposition %q", tr.header.Get("Content-Disposition"))
		}
		text := string(tr.body)
		for _, want := range []string{"You: 你好，我的订单没到\n    第二行", "li: We are checking", "System: Conversation closed by li", "+08:00"} {
			if !strings.Contains(text, want) {
				t.Errorf("customer transcript lacks %q:\n%s", want, text)
			}
		}
		if strings.Contains(text, "secret note") {
			t.Fatalf("the customer's transcript shows an internal note:\n%s", text)
		}
		zh := string(u.get(alice.Token, "/api/v1/conversations/"+conv.ID+"/transcript?lang=zh-CN").body)
		if !strings.Contains(zh, "我: 你好") || !strings.Contains(zh, "对话记录") {
			t.Errorf("Chinese transcript:\n%s", zh)
		}
		agentText := string(u.get(agent.Token, "/api/v1/conversations/"+conv.ID+"/transcript").body)
		if !strings.Contains(agentText, "Alice: 你好") || !strings.Contains(agentText, "li (internal note): secret note") {
			t.Errorf("agent transcript:\n%s", agentText)
		}
		u.get(alice.Token, "/api/v1/conversations/"+conv.ID+"/transcript?tz_offset=zzz").code(t, http.StatusBadRequest, "invalid")
	})
}
