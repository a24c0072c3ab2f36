package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/parley-chat/parley/internal/chat"
)

// maxJSONBody bounds every JSON request body unless a route says otherwise.
const maxJSONBody = 64 << 10

// errorBody is the one error shape of the API: {"error": {"code", "message", "field"}}.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    chat.Code `json:"code"`
	Message string    `json:"message"`
	Field   string    `json:"field,omitempty"`
}

// statusOf maps an error code to its HTTP status. It is the only place that does.
func statusOf(c chat.Code) int {
	switch c {
	case chat.CodeInvalid:
		return http.StatusBadRequest
	case chat.CodeUnauthorized:
		return http.StatusUnauthorized
	case chat.CodeForbidden, chat.CodeCSRF, chat.CodeOriginRefused:
		return http.StatusForbidden
	case chat.CodeNotFound:
		return http.StatusNotFound
	case chat.CodeConflict, chat.CodeKeyReused, chat.CodeClosed:
		return http.StatusConflict
	case chat.CodeTooLarge:
		return http.StatusRequestEntityTooLarge
	case chat.CodeUnsupported:
		return http.StatusUnsupportedMediaType
	case chat.CodeRateLimited:
		return http.StatusTooManyRequests
	case chat.CodeUnavailable, chat.CodeShuttingDown:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// writeJSON writes v with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, `{"error":{"code":"internal","message":"internal error"}}`, http.StatusInternalServerError)
		return
	}
	writeJSONBytes(w, status, b)
}

// writeJSONBytes writes b, a JSON encoding, with status.
func writeJSONBytes(w http.ResponseWriter, status int, b []byte) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// writeError answers with err's status and the error shape, logging internal errors once, here.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := chat.ErrorCode(err)
	status := statusOf(code)
	var de *chat.Error
	field := ""
	if errors.As(err, &de) {
		field = de.Field
	}
	switch {
	case status >= 500 && code != chat.CodeShuttingDown:
		s.log.LogAttrs(r.Context(), slog.LevelError, "request failed", slog.String("route", r.Pattern),
			slog.String("code", string(code)), slog.String("err", err.Error()))
	case code == chat.CodeForbidden || code == chat.CodeCSRF || code == chat.CodeOriginRefused:
		s.log.LogAttrs(r.Context(), slog.LevelWarn, "request denied", slog.String("route", r.Pattern),
			slog.String("code", string(code)), slog.String("ip", s.clientIP(r)))
	}
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "2")
	}
	if de != nil && code == chat.CodeRateLimited {
		w.Header().Set("Retry-After", retryAfterOf(de.Message))
	}
	writeJSON(w, status, errorBody{Error: errorDetail{Code: code, Message: chat.ErrorMessage(err), Field: field}})
}

func retryAfterOf(msg string) string {
	// "try again in N seconds"
	if i := strings.Index(msg, " in "); i >= 0 {
		f := strings.Fields(msg[i+4:])
		if len(f) > 0 {
			if _, err := strconv.Atoi(f[0]); err == nil {
				return f[0]
			}
		}
	}
	return "1"
}

// decodeJSON reads a JSON object of at most limit bytes into dst. It refuses other media types, bodies that are
// not valid UTF-8 (encoding/json would silently replace bad bytes), lone UTF-16 surrogate escapes, unknown
// fields (no mass assignment) and trailing data; each with a message that says what was wrong.
func decodeJSON(w http.ResponseWriter, r *http.Request, dst any, limit int64) error {
	if limit <= 0 {
		limit = maxJSONBody
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return chat.Errorf(chat.CodeUnsupported, "send the body as application/json")
		}
	} else {
		return chat.Errorf(chat.CodeUnsupported, "send the body as application/json (Content-Type is missing)")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return chat.Errorf(chat.CodeTooLarge, "the request body is larger than %d bytes", limit)
		}
		return chat.Wrap(chat.CodeInvalid, err, "could not read the request body")
	}
	return unmarshalStrict(body, dst)
}

// unmarshalStrict is decodeJSON's checks on an in-memory document; WebSocket frames use it too.
func unmarshalStrict(body []byte, dst any) error {
	if !utf8.Valid(body) {
		return chat.Errorf(chat.CodeInvalid, "the JSON is not valid UTF-8")
	}
	if hasLoneSurrogate(body) {
		return chat.Errorf(chat.CodeInvalid, "the JSON contains an unpaired UTF-16 surrogate escape")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonError(err)
	}
	if dec.More() {
		return chat.Errorf(chat.CodeInvalid, "unexpected data after the JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return chat.Errorf(chat.CodeInvalid, "unexpected data after the JSON object")
	}
	return nil
}

func jsonError(err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return chat.Errorf(chat.CodeInvalid, "malformed JSON at byte %d", se.Offset)
	case errors.As(err, &te):
		field := te.Field
		return &chat.Error{Code: chat.CodeInvalid, Field: field, Message: fmt.Sprintf("%s must be %s", nonEmpty(field, "the body"), jsonKind(te.Type))}
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return chat.Errorf(chat.CodeInvalid, "the JSON body is empty or truncated")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return &chat.Error{Code: chat.CodeInvalid, Field: f, Message: fmt.Sprintf("unknown field %q", f)}
	default:
		return chat.Wrap(chat.CodeInvalid, err, "malformed JSON")
	}
}

// jsonKind names the JSON value a Go type is decoded from, for messages to API clients.
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "a JSON object"
	case reflect.Slice, reflect.Array:
		return "a JSON array"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number in range"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Pointer:
		return jsonKind(t.Elem())
	}
	return "a value of another type"
}

func nonEmpty(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// hasLoneSurrogate reports whether a JSON text contains a \uD800-\uDFFF escape that is not a proper
// high-low pair. encoding/json would turn it into U+FFFD and store something the client never sent.
func hasLoneSurrogate(b []byte) bool {
	for i := 0; i+5 < len(b)+0 && i < len(b); i++ {
		if b[i] != '\\' {
			continue
		}
		if i+1 < len(b) && b[i+1] != 'u' {
			i++ // skip the escaped character, which may itself be a backslash
			continue
		}
		r, ok := hex4(b, i+2)
		if !ok {
			continue
		}
		switch {
		case r >= 0xD800 && r <= 0xDBFF:
			lo, ok := rune(0), false
			if i+11 < len(b)+0 && i+7 < len(b) && b[i+6] == '\\' && b[i+7] == 'u' {
				lo, ok = hex4(b, i+8)
			}
			if !ok || lo < 0xDC00 || lo > 0xDFFF {
				return true
			}
			i += 11
		case r >= 0xDC00 && r <= 0xDFFF:
			return true
		default:
			i += 5
		}
	}
	return false
}

func hex4(b []byte, at int) (rune, bool) {
	if at+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[at : at+4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	return r, true
}
