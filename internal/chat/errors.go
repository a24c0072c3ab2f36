// Package chat is Parley's domain: the types (sites, agents, customers, conversations, messages), the rules that
// validate them and the error codes every adapter maps to its own wire format. It imports no other package of
// Parley's; storage, transports and the hub depend on it.
package chat

import (
	"errors"
	"fmt"
)

// Code classifies an error for the boundary that reports it: HTTP maps it to a status, the WebSocket transport
// to an error frame. Codes are part of the public protocol (docs/protocol.md); never rename one.
type Code string

// The error codes. Each has exactly one HTTP status (see httpapi.statusOf).
const (
	CodeInvalid       Code = "invalid"      // malformed or out-of-range input
	CodeUnauthorized  Code = "unauthorized" // no credential, or one that is wrong, expired or revoked
	CodeForbidden     Code = "forbidden"    // a valid principal that may not do this
	CodeNotFound      Code = "not_found"    // absent, or not visible to this principal (no existence oracle)
	CodeConflict      Code = "conflict"     // state does not allow the operation
	CodeKeyReused     Code = "idempotency_key_reused"
	CodeTooLarge      Code = "too_large"    // body or frame over its limit
	CodeRateLimited   Code = "rate_limited" // slow down; retry later
	CodeUnavailable   Code = "unavailable"  // a dependency (the database) is down; retry later
	CodeInternal      Code = "internal"     // a bug; details are logged, never sent
	CodeClosed        Code = "conversation_closed"
	CodeUnsupported   Code = "unsupported" // e.g. a media type we do not accept
	CodeShuttingDown  Code = "shutting_down"
	CodeCSRF          Code = "csrf"           // state-changing cookie request without the anti-forgery header
	CodeOriginRefused Code = "origin_refused" // Origin not allowed for this site or surface
)

// Error is a domain error: a code for machines, a message for people (safe to show to the caller) and an
// optional wrapped cause for the logs.
type Error struct {
	Code    Code
	Message string
	Field   string // the offending input field, when there is one
	Err     error  // cause; logged, never sent to clients
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf builds a domain error with a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid reports a bad value of one input field.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Code: CodeInvalid, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Wrap attaches a code and message to a lower-level cause.
func Wrap(code Code, err error, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Err: err}
}

// ErrorCode returns the code of err, CodeInternal for errors that carry none, and "" for nil.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// ErrorMessage returns the caller-safe message of err. Uncoded errors are bugs; their text is not shown.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// IsCode reports whether err carries code.
func IsCode(err error, code Code) bool { return ErrorCode(err) == code }

// ErrNotFound is the not-found answer for everything a principal may not see.
func ErrNotFound(what string) *Error { return Errorf(CodeNotFound, "%s not found", what) }
