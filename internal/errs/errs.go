// Package errs is Rampart's one error type: a stable Kind that decides the
// HTTP status and CLI exit code, a message that is safe to show to a caller,
// the operation that failed and the underlying cause (which is only ever
// logged, through the redacting logger, never shown).
package errs

import (
	"errors"
	"fmt"
)

// Kind classifies an error. The list is stable: handlers and the CLI map
// kinds, never messages, to statuses and exit codes.
type Kind uint8

// The kinds of error. Other is the zero value: an unexpected failure whose
// message must not reach the caller.
const (
	Other         Kind = iota // unexpected; shown as a generic internal error
	Invalid                   // the input is malformed or breaks a rule
	NotFound                  // the thing does not exist or the caller may not know it does
	Exists                    // the thing already exists
	Conflict                  // the request conflicts with the current state
	Precondition              // a conditional request's precondition (If-Match) does not hold
	Unauthorized              // the caller is not authenticated
	Forbidden                 // the caller is authenticated but lacks permission
	RateLimited               // too many attempts; try later
	Unavailable               // a dependency (database, key provider) cannot be reached
	Integrity                 // stored data failed an integrity check (tampered or corrupt)
	Shredded                  // the organization's keys were destroyed; its data is gone for good
	Unprocessable             // well-formed input that breaks a declared rule (a collection's JSON Schema)
)

var kindNames = [...]string{
	Other:         "internal",
	Invalid:       "invalid",
	NotFound:      "not_found",
	Exists:        "exists",
	Conflict:      "conflict",
	Unauthorized:  "unauthorized",
	Forbidden:     "forbidden",
	RateLimited:   "rate_limited",
	Unavailable:   "unavailable",
	Integrity:     "integrity",
	Shredded:      "shredded",
	Precondition:  "precondition_failed",
	Unprocessable: "unprocessable",
}

// String returns the kind's stable snake_case name.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "internal"
}

// Error is the error type used across Rampart.
type Error struct {
	Kind    Kind   // classification
	Op      string // operation that failed, e.g. "keys.Decrypt"
	Message string // safe, human sentence for the caller; empty means use the kind
	Err     error  // cause; logged, never shown to callers
}

// E builds an *Error. Arguments are interpreted by type: Kind, string (the
// operation, first string; the message, second string) and error (cause).
func E(args ...any) error {
	e := &Error{}
	strs := 0
	for _, a := range args {
		switch v := a.(type) {
		case Kind:
			e.Kind = v
		case string:
			if strs == 0 {
				e.Op = v
			} else {
				e.Message = v
			}
			strs++
		case error:
			e.Err = v
		default:
			panic(fmt.Sprintf("errs.E: unexpected argument %T", a))
		}
	}
	if e.Kind == Other && e.Err != nil {
		// Inherit the kind of a wrapped Rampart error.
		var inner *Error
		if errors.As(e.Err, &inner) {
			e.Kind = inner.Kind
			if e.Message == "" {
				e.Message = inner.Message
			}
		}
	}
	return e
}

func (e *Error) Error() string {
	s := e.Op
	add := func(part string) {
		if part == "" {
			return
		}
		if s != "" {
			s += ": "
		}
		s += part
	}
	add(e.Message)
	if e.Err != nil {
		add(e.Err.Error())
	} else if e.Message == "" {
		add(e.Kind.String())
	}
	return s
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is lets errors.Is(err, errs.Kind) style checks work via KindOf; it matches
// another *Error template by Kind when the template has no Op or cause.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	if !ok {
		return false
	}
	return t.Op == "" && t.Err == nil && t.Message == "" && t.Kind == e.Kind
}

// KindOf returns the Kind of the outermost *Error in err's chain, or Other.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Other
}

// SafeMessage returns the message meant for the caller: the first non-empty
// Message in the chain, or the kind's name. Causes are never included.
func SafeMessage(err error) string {
	for err != nil {
		if e, ok := err.(*Error); ok && e.Message != "" {
			return e.Message
		}
		err = errors.Unwrap(err)
	}
	return ""
}
