package messaging

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parley-chat/parley/internal/auth"
	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/store"
)

// Upload quotas: what one sender may attach to one conversation in all.
const (
	MaxFilesPerConversation = 100
	MaxBytesPerConversation = 200 << 20
)

// CheckUpload decides, before a byte of the file is read, whether p may attach a file of up to size bytes to
// a conversation: p must have access, the conversation must be open, the sender's message rate allows it, and
// the per-conversation quota has room.
func (s *Service) CheckUpload(ctx context.Context, p *auth.Principal, convID string, size int64) (*chat.Conversation, error) {
	conv, err := s.Conversation(ctx, p, convID)
	if err != nil {
		return nil, err
	}
	if conv.Status == chat.StatusClosed {
		return nil, chat.Errorf(chat.CodeClosed, "the conversation is closed")
	}
	limiter := s.agentLimit
	if p.Customer != nil {
		limiter = s.customerLimit
	}
	if ok, wait := limiter.Allow(p.ID()); !ok {
		return nil, &chat.Error{Code: chat.CodeRateLimited, Message: "sending too fast; try again in " + wait.Round(time.Millisecond).String()}
	}
	senderType, senderID := sender(p)
	files, bytes, err := s.st.AttachmentUsage(ctx, conv.ID, senderType, senderID)
	if err != nil {
		return nil, err
	}
	if files >= MaxFilesPerConversation || bytes+size > MaxBytesPerConversation {
		return nil, &chat.Error{Code: chat.CodeTooLarge, Field: "file",
			Message: fmt.Sprintf("the upload quota of this conversation is used up (%d files, %d MB)", MaxFilesPerConversation, MaxBytesPerConversation>>20)}
	}
	return conv, nil
}

func sender(p *auth.Principal) (chat.SenderType, string) {
	if p.Customer != nil {
		return chat.SenderCustomer, p.Customer.ID
	}
	return chat.SenderAgent, p.Agent.ID
}

// AttachInput is a stored file to send into a conversation. Attachment carries the checked name, the sniffed
// content type, the size, the hash and the storage key.
type AttachInput struct {
	ConversationID string
	ClientMsgID    string // reused on every retry of the same upload; the message is sent once
	Attachment     *chat.Attachment
	Image          bool
}

// AttachmentMeta is the meta of an image or file message: what a client needs to show and fetch it.
type AttachmentMeta struct {
	Attachment AttachmentRef `json:"attachment"`
}

// AttachmentRef names an attachment inside a message.
type AttachmentRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Size int64  `json:"size"`
	Type string `json:"type"`
}

// Attach records an uploaded file and sends the message that shows it, as p. With a client message id used
// before, the original message comes back (Duplicate) and this upload's record is removed again: the caller
// then deletes the stored bytes (DuplicateKey says which).
func (s *Service) Attach(ctx context.Context, p *auth.Principal, in AttachInput) (res store.SendResult, err error) {
	if err := chat.ValidateClientMsgID(in.ClientMsgID); err != nil {
		return res, err
	}
	a := in.Attachment
	a.ConversationID = in.ConversationID
	a.UploaderType, a.UploaderID = sender(p)
	if err := s.st.CreateAttachment(ctx, a); err != nil {
		return res, err
	}
	typ := chat.TypeFile
	if in.Image {
		typ = chat.TypeImage
	}
	meta, _ := json.Marshal(AttachmentMeta{Attachment: AttachmentRef{ID: a.ID, Name: a.Name, Size: a.Size, Type: a.ContentType}})
	req := &store.SendRequest{ConversationID: in.ConversationID, Type: typ, Body: a.Name, ClientMsgID: in.ClientMsgID, Meta: meta}
	req.SenderType, req.SenderID = a.UploaderType, a.UploaderID
	if p.Customer != nil {
		req.SenderName = p.Customer.Name
	} else {
		req.SenderName = p.Agent.Name
	}
	req.Check = func(c *chat.Conversation) error {
		if !CanAccess(p, c) {
			return chat.ErrNotFound("conversation")
		}
		if c.Status == chat.StatusClosed {
			return chat.Errorf(chat.CodeClosed, "the conversation is closed")
		}
		return nil
	}
	start := s.o.Now()
	wait, err := s.committer.Enqueue(ctx, req)
	if err == nil {
		res = wait(ctx)
		err = res.Err
	}
	if err != nil || res.Duplicate {
		// Nothing refers to this record: the message was refused, or an earlier upload already sent it.
		if derr := s.st.DeleteAttachment(context.WithoutCancel(ctx), a.ID); derr != nil && err == nil {
			err = derr
		}
		return res, err
	}
	s.o.Observe(string(res.Conversation.Channel), string(typ), s.o.Now().Sub(start), false)
	return res, nil
}

// Attachment returns an attachment p may read: p must have access to its conversation. Everything else is
// the same NotFound.
func (s *Service) Attachment(ctx context.Context, p *auth.Principal, id string) (*chat.Attachment, error) {
	if !validID(id) {
		return nil, chat.ErrNotFound("attachment")
	}
	a, err := s.st.Attachment(ctx, id)
	if err != nil {
		return nil, err
	}
	conv, err := s.st.Conversation(ctx, a.ConversationID)
	if err != nil {
		if chat.IsCode(err, chat.CodeNotFound) {
			return nil, chat.ErrNotFound("attachment")
		}
		return nil, err
	}
	if !CanAccess(p, conv) {
		return nil, chat.ErrNotFound("attachment")
	}
	return a, nil
}

// Rate stores the customer's rating of their closed conversation. Only the conversation's customer rates,
// once, after it closed.
func (s *Service) Rate(ctx context.Context, p *auth.Principal, convID string, score int, comment string) (*chat.Rating, error) {
	if p == nil || p.Customer == nil {
		return nil, chat.Errorf(chat.CodeForbidden, "only the customer rates a conversation")
	}
	if score < chat.MinRatingScore || score > chat.MaxRatingScore {
		return nil, chat.Invalid("score", "score must be %d to %d", chat.MinRatingScore, chat.MaxRatingScore)
	}
	if !utf8.ValidString(comment) {
		return nil, chat.Invalid("comment", "the comment is not valid UTF-8")
	}
	if utf8.RuneCountInString(comment) > chat.MaxRatingCommentRunes {
		return nil, &chat.Error{Code: chat.CodeTooLarge, Field: "comment", Message: fmt.Sprintf("the comment is longer than %d characters", chat.MaxRatingCommentRunes)}
	}
	conv, err := s.Conversation(ctx, p, convID)
	if err != nil {
		return nil, err
	}
	if conv.Status != chat.StatusClosed {
		return nil, chat.Errorf(chat.CodeConflict, "a conversation is rated after it closes")
	}
	r := &chat.Rating{ConversationID: conv.ID, CustomerID: p.Customer.ID, AgentID: conv.AgentID, TeamID: conv.TeamID,
		Score: score, Comment: strings.TrimSpace(comment)}
	if err := s.st.CreateRating(ctx, r); err != nil {
		return nil, err
	}
	return r, nil
}

// Rating returns the rating of a conversation p may access, or NotFound when it has none.
func (s *Service) Rating(ctx context.Context, p *auth.Principal, convID string) (*chat.Rating, error) {
	conv, err := s.Conversation(ctx, p, convID)
	if err != nil {
		return nil, err
	}
	return s.st.Rating(ctx, conv.ID)
}

// TranscriptOptions choose the transcript's language and the reader's time zone.
type TranscriptOptions struct {
	Chinese bool
	Zone    *time.Location // nil = UTC
}

// Transcript writes a plain-text transcript of a conversation p may access: every message p's side may see,
// oldest first, with times in the reader's zone. Internal notes never appear in a customer's transcript.
func (s *Service) Transcript(ctx context.Context, p *auth.Principal, convID string, o TranscriptOptions, w io.Writer) error {
	conv, err := s.Conversation(ctx, p, convID)
	if err != nil {
		return err
	}
	zone := o.Zone
	if zone == nil {
		zone = time.UTC
	}
	l := transcriptLabels(o.Chinese)
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "%s %s\n%s: %s\n\n", l.title, conv.ID, l.started, conv.CreatedAt.In(zone).Format("2006-01-02 15:04:05 -07:00"))
	forCustomer := p.Customer != nil
	var after uint64
	for {
		msgs, err := s.st.After(ctx, conv.ID, after, chat.MaxHistoryPage)
		if err != nil {
			return err
		}
		for _, m := range msgs {
			after = m.Seq
			if m.Deleted || (forCustomer && !m.VisibleToCustomer()) {
				continue
			}
			fmt.Fprintf(bw, "[%s] %s: %s\n", m.CreatedAt.In(zone).Format("2006-01-02 15:04:05"), l.who(m, forCustomer), l.body(m))
		}
		if len(msgs) < chat.MaxHistoryPage {
			break
		}
	}
	return bw.Flush()
}

type labels struct {
	title, started, you, system, agent, customer, note, file string
}

func transcriptLabels(zh bool) labels {
	if zh {
		return labels{title: "对话记录", started: "开始时间", you: "我", system: "系统", agent: "客服", customer: "访客", note: "内部备注", file: "文件"}
	}
	return labels{title: "Conversation", started: "Started", you: "You", system: "System", agent: "Agent", customer: "Customer", note: "internal note", file: "file"}
}

func (l labels) who(m *chat.Message, forCustomer bool) string {
	switch m.SenderType {
	case chat.SenderSystem:
		return l.system
	case chat.SenderCustomer:
		if forCustomer {
			return l.you
		}
		if m.SenderName == "" {
			return l.customer
		}
	case chat.SenderAgent:
		if m.SenderName == "" {
			return l.agent
		}
	}
	name := strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, m.SenderName)
	if m.Type == chat.TypeNote {
		return name + " (" + l.note + ")"
	}
	return name
}

func (l labels) body(m *chat.Message) string {
	if m.Type == chat.TypeImage || m.Type == chat.TypeFile {
		var meta AttachmentMeta
		if json.Unmarshal(m.Meta, &meta) == nil && meta.Attachment.Name != "" {
			return fmt.Sprintf("[%s: %s, %d bytes]", l.file, meta.Attachment.Name, meta.Attachment.Size)
		}
	}
	// One line per message keeps the transcript readable; a message's own line breaks are indented.
	return strings.ReplaceAll(strings.ReplaceAll(m.Body, "\r\n", "\n"), "\n", "\n    ")
}
