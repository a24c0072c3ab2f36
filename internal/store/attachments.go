package store

import (
	"context"
	"database/sql"
	"errors"

	"github.com/google/uuid"

	"github.com/parley-chat/parley/internal/chat"
)

const attachmentCols = "id, conversation_id, uploader_type, uploader_id, name, content_type, size, sha256, storage_key, created_at"

func scanAttachment(r rowScanner) (*chat.Attachment, error) {
	var a chat.Attachment
	var uploader string
	var created int64
	if err := r.Scan(&a.ID, &a.ConversationID, &uploader, &a.UploaderID, &a.Name, &a.ContentType, &a.Size, &a.SHA256,
		&a.StorageKey, &created); err != nil {
		return nil, err
	}
	a.UploaderType, a.CreatedAt = chat.SenderType(uploader), fromMS(created)
	return &a, nil
}

// CreateAttachment records an uploaded file's metadata; the caller has already stored the bytes under
// a.StorageKey. The id and creation time are assigned here.
func (s *Store) CreateAttachment(ctx context.Context, a *chat.Attachment) error {
	id, err := uuid.NewV7()
	if err != nil {
		return err
	}
	a.ID, a.CreatedAt = id.String(), s.now()
	return s.tx(ctx, "create attachment", func(tx *sql.Tx) error {
		_, err := s.exec(ctx, tx, "INSERT INTO attachments ("+attachmentCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
			a.ID, a.ConversationID, string(a.UploaderType), a.UploaderID, a.Name, a.ContentType, a.Size, a.SHA256,
			a.StorageKey, ms(a.CreatedAt))
		return err
	})
}

// Attachment returns the attachment with id. Authorization is the caller's: check the conversation.
func (s *Store) Attachment(ctx context.Context, id string) (*chat.Attachment, error) {
	a, err := scanAttachment(s.queryRow(ctx, "SELECT "+attachmentCols+" FROM attachments WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, chat.ErrNotFound("attachment")
	}
	return a, s.wrap("read attachment", err)
}

// DeleteAttachment removes an attachment's metadata (an upload whose message was refused, or a duplicate
// retry). Deleting one that does not exist is not an error.
func (s *Store) DeleteAttachment(ctx context.Context, id string) error {
	return s.tx(ctx, "delete attachment", func(tx *sql.Tx) error {
		_, err := s.exec(ctx, tx, "DELETE FROM attachments WHERE id = ?", id)
		return err
	})
}

// AttachmentUsage returns how many files, and how many bytes, one uploader has stored in a conversation: what
// the per-conversation upload quota is checked against.
func (s *Store) AttachmentUsage(ctx context.Context, convID string, uploaderType chat.SenderType, uploaderID string) (files int, bytes int64, err error) {
	var sum sql.NullInt64
	err = s.queryRow(ctx, "SELECT COUNT(*), SUM(size) FROM attachments WHERE conversation_id = ? AND uploader_type = ? AND uploader_id = ?",
		convID, string(uploaderType), uploaderID).Scan(&files, &sum)
	return files, sum.Int64, s.wrap("attachment usage", err)
}
