package logx

import (
	"context"
	"encoding"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"slices"
)

// Options for New.
type Options struct {
	Format string     // "text", or "json" (anything else also means JSON, the machine format)
	Level  slog.Level // least severe level written
}

// New returns a *slog.Logger writing to w through a redacting handler (NewRedactingHandler).
func New(w io.Writer, opts Options) *slog.Logger {
	ho := &slog.HandlerOptions{Level: opts.Level}
	var h slog.Handler
	if opts.Format == "text" {
		h = slog.NewTextHandler(w, ho)
	} else {
		h = slog.NewJSONHandler(w, ho)
	}
	return slog.New(NewRedactingHandler(h))
}

// NewRedactingHandler wraps any slog.Handler.
//
// The returned handler hides the value of every attribute whose key (read
// with its group's name) looks secret, scrubs every key and every text value
// with RedactString, the message included, and passes the record on.
func NewRedactingHandler(next slog.Handler) slog.Handler {
	return &redactingHandler{next: next}
}

// redactingHandler is immutable, so it is safe for concurrent use as long as
// next is.
type redactingHandler struct {
	next   slog.Handler
	group  string // innermost open group: the qualifier of keys logged in it
	hidden bool   // an open group is named like a secret: all inside it is too
}

var _ slog.Handler = (*redactingHandler)(nil)

func (h *redactingHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

func (h *redactingHandler) Handle(ctx context.Context, r slog.Record) error {
	// Most records hold no secret. Checking first and passing such a record
	// through untouched costs no allocation; copying it would.
	msg := RedactString(r.Message)
	clean := msg == r.Message && !h.hidden
	if clean {
		r.Attrs(func(a slog.Attr) bool {
			clean = isClean(h.group, a)
			return clean
		})
	}
	if clean {
		return h.next.Handle(ctx, r)
	}
	out := slog.NewRecord(r.Time, r.Level, msg, r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(redactAttr(h.group, h.hidden, a))
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h *redactingHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	clean := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		clean[i] = redactAttr(h.group, h.hidden, a)
	}
	return &redactingHandler{next: h.next.WithAttrs(clean), group: h.group, hidden: h.hidden}
}

func (h *redactingHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	return &redactingHandler{
		next:   h.next.WithGroup(RedactString(name)),
		group:  name,
		hidden: h.hidden || classifyKey(h.group, name) == secretWord,
	}
}

// isClean reports whether redactAttr would leave a unchanged, without
// allocating. Values that must be resolved or rendered to be checked count
// as unclean, so that the rewrite runs a LogValue or String method only once.
func isClean(group string, a slog.Attr) bool {
	if classifyKey(group, a.Key) != notSecret || RedactString(a.Key) != a.Key {
		return false
	}
	switch a.Value.Kind() {
	case slog.KindString:
		s := a.Value.String()
		return RedactString(s) == s
	case slog.KindGroup:
		inner := groupName(group, a.Key)
		for _, c := range a.Value.Group() {
			if !isClean(inner, c) {
				return false
			}
		}
		return true
	case slog.KindAny, slog.KindLogValuer:
		return false
	default:
		return true // numbers, bools, times and durations hold no text
	}
}

// redactAttr returns a with secret values replaced; hidden means every value
// is secret. A group named by a secret noun ("key", "token") is searched, not
// hidden, so that slog.Group("key", "id", kid) keeps its id.
func redactAttr(group string, hidden bool, a slog.Attr) slog.Attr {
	if a.Equal(slog.Attr{}) {
		return a // handlers drop it; keep it droppable
	}
	key := RedactString(a.Key)
	kind := a.Value.Kind()
	switch secrecy := classifyKey(group, a.Key); {
	case hidden, secrecy == secretWord, secrecy == secretNoun && kind != slog.KindGroup:
		// Decided by the key alone: a LogValuer is never even resolved.
		return slog.String(key, Redacted)
	}
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		v = slog.StringValue(RedactString(v.String()))
	case slog.KindGroup:
		inner, attrs := groupName(group, a.Key), v.Group()
		out := make([]slog.Attr, len(attrs))
		for i, c := range attrs {
			out[i] = redactAttr(inner, false, c)
		}
		v = slog.GroupValue(out...)
	case slog.KindAny:
		v = redactAny(v.Any())
	}
	return slog.Attr{Key: key, Value: v}
}

// groupName is the qualifier for keys inside group key: the group itself, or
// for an inline group (empty key) the one it sits in.
func groupName(outer, key string) string {
	if key == "" {
		return outer
	}
	return key
}

// redactAny scrubs a value of any type in the form handlers would print it.
// Errors, Stringers and TextMarshalers become their scrubbed text, which is
// what handlers print for them anyway (give or take JSON's view of a
// Stringer). Other values keep their type unless one of their renderings
// shows a secret.
func redactAny(x any) slog.Value {
	switch x := x.(type) {
	case nil:
		return slog.AnyValue(nil)
	case error:
		return slog.StringValue(RedactString(safeString(x.Error)))
	case []string:
		var out []string
		for i, s := range x {
			if r := RedactString(s); r != s {
				if out == nil {
					out = slices.Clone(x)
				}
				out[i] = r
			}
		}
		if out == nil {
			return slog.AnyValue(x)
		}
		return slog.AnyValue(out)
	case []byte:
		// Printed as text by the text handler and as base64 by JSON, where
		// no pattern could be seen: scrub it as text and log the text.
		s := string(x)
		if r := RedactString(s); r != s {
			return slog.StringValue(r)
		}
		return slog.AnyValue(x)
	case encoding.TextMarshaler:
		return slog.StringValue(RedactString(safeString(func() string {
			b, err := x.MarshalText()
			if err != nil {
				return "!ERROR:" + err.Error()
			}
			return string(b)
		})))
	case fmt.Stringer:
		return slog.StringValue(RedactString(safeString(x.String)))
	}
	// Structs, maps, slices and pointers: the text handler prints %+v, the
	// JSON handler encoding/json, and each can show what the other hides
	// (JSON follows nested pointers and renames fields by tag). Check both;
	// if either holds a secret, log its scrubbed text instead of the value.
	text := fmt.Sprintf("%+v", x)
	if r := RedactString(text); r != text {
		return slog.StringValue(r)
	}
	js := safeString(func() string {
		b, err := json.Marshal(x)
		if err != nil {
			return ""
		}
		return string(b)
	})
	if r := RedactString(js); r != js {
		return slog.StringValue(r)
	}
	return slog.AnyValue(x)
}

// safeString calls f, turning a panic (a nil pointer receiver, typically)
// into text the way slog's own handlers do, so a bad value cannot stop a
// log line, nor its panic message skip redaction.
func safeString(f func() string) (s string) {
	defer func() {
		if r := recover(); r != nil {
			s = fmt.Sprintf("!PANIC: %v", r)
		}
	}()
	return f()
}
