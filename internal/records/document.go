package records

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"

	"github.com/rampart-platform/rampart/internal/errs"
)

// parseObject decodes data, which must be one JSON object of at most
// MaxDataSize bytes. Numbers stay json.Number so they round-trip exactly.
func parseObject(op string, data []byte) (map[string]any, error) {
	if len(data) > MaxDataSize {
		return nil, errs.E(errs.Invalid, op, fmt.Sprintf("data is larger than %d bytes", MaxDataSize))
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, errs.E(errs.Invalid, op, "data is not valid JSON")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errs.E(errs.Invalid, op, "data has trailing content after the JSON value")
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, errs.E(errs.Invalid, op, "data must be a JSON object")
	}
	return obj, nil
}

// encodeObject renders obj compactly, without HTML escaping.
func encodeObject(op string, obj map[string]any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(obj); err != nil {
		return nil, errs.E(errs.Other, op, err)
	}
	b := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	if len(b) > MaxDataSize {
		return nil, errs.E(errs.Invalid, op, fmt.Sprintf("data is larger than %d bytes", MaxDataSize))
	}
	return b, nil
}

// mergePatch applies an RFC 7386 JSON merge patch to target: a patch that
// is not an object replaces the target; members of an object patch set
// (recursively merged) or, when null, remove the target's members.
func mergePatch(target, patch any) any {
	pm, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	tm, ok := target.(map[string]any)
	if !ok {
		tm = map[string]any{}
	}
	for k, v := range pm {
		if v == nil {
			delete(tm, k)
			continue
		}
		tm[k] = mergePatch(tm[k], v)
	}
	return tm
}

// fieldNames returns obj's top-level member names, sorted: what an audit
// entry may say about a record's content.
func fieldNames(obj map[string]any) []string {
	names := make([]string, 0, len(obj))
	for k := range obj {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

// refuseLoader keeps schema compilation from reading files or the network:
// a tenant-supplied $ref must not make the server fetch anything.
type refuseLoader struct{}

func (refuseLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("external schema references are not allowed (%s)", url)
}

const schemaURL = "rampart:collection-schema.json"

// compileSchema compiles a collection's JSON Schema, caching by content.
func (s *Service) compileSchema(op string, raw []byte) (*jsonschema.Schema, error) {
	sum := sha256.Sum256(raw)
	if v, ok := s.schemas.Load(sum); ok {
		return v.(*jsonschema.Schema), nil
	}
	if len(raw) > MaxSchemaSize {
		return nil, errs.E(errs.Invalid, op, fmt.Sprintf("schema is larger than %d bytes", MaxSchemaSize))
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, errs.E(errs.Invalid, op, "schema is not valid JSON")
	}
	if _, ok := doc.(map[string]any); !ok {
		return nil, errs.E(errs.Invalid, op, "schema must be a JSON object")
	}
	c := jsonschema.NewCompiler()
	c.UseLoader(refuseLoader{})
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource(schemaURL, doc); err != nil {
		return nil, errs.E(errs.Invalid, op, "schema is invalid: "+firstLine(err.Error()))
	}
	sch, err := c.Compile(schemaURL)
	if err != nil {
		return nil, errs.E(errs.Invalid, op, "schema is invalid: "+firstLine(err.Error()))
	}
	s.schemas.Store(sum, sch)
	return sch, nil
}

func firstLine(s string) string {
	s = strings.ReplaceAll(s, "\n", "; ")
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}

// validate checks obj against the collection's schema (none: anything).
// A violation is errs.Unprocessable (422) naming the field as a JSON pointer and the rule.
func (s *Service) validate(op string, c collectionRow, obj map[string]any) error {
	if c.schema == "" {
		return nil
	}
	sch, err := s.compileSchema(op, []byte(c.schema))
	if err != nil {
		return err
	}
	// The validator understands json.Number, map[string]any and []any, which
	// is exactly what parseObject produced.
	err = sch.Validate(any(obj))
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return errs.E(errs.Unprocessable, op, "data does not match the collection schema")
	}
	leaf := ve
	for len(leaf.Causes) > 0 {
		leaf = leaf.Causes[0]
	}
	loc := leaf.InstanceLocation
	if req, ok := leaf.ErrorKind.(*kind.Required); ok && len(req.Missing) > 0 {
		// Name the missing member itself, not the object lacking it.
		loc = append(slices.Clone(loc), req.Missing[0])
	}
	ptr := "/" + strings.Join(escapePointer(loc), "/")
	return errs.E(errs.Unprocessable, op, fmt.Sprintf("data does not match the collection schema: field %q: %s", ptr, ruleOf(leaf)))
}

// ruleOf describes the failed rule: the schema keyword and the validator's
// explanation, which names the constraint.
func ruleOf(e *jsonschema.ValidationError) string {
	kw := strings.Join(e.ErrorKind.KeywordPath(), "/")
	msg := e.Error()
	// A leaf error renders as "...\n- at '/x': <explanation>" or
	// "at '/x': <explanation>": keep the explanation.
	if i := strings.LastIndex(msg, "': "); i >= 0 {
		msg = msg[i+3:]
	}
	msg = firstLine(msg)
	if kw == "" || strings.HasPrefix(msg, kw+":") {
		return msg
	}
	return kw + ": " + msg
}

func escapePointer(parts []string) []string {
	out := make([]string, len(parts))
	r := strings.NewReplacer("~", "~0", "/", "~1")
	for i, p := range parts {
		out[i] = r.Replace(p)
	}
	return out
}

func compactJSON(raw []byte) ([]byte, error) {
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
