// Package mrz parses the machine-readable zone of ICAO Doc 9303 travel
// documents (FEATURES K2): TD1 (ID cards, 3 lines of 30 characters), TD2
// (2 lines of 36) and TD3 (passports, 2 lines of 44), plus the machine
// readable visas that share the TD2/TD3 line lengths (MRV-B/MRV-A, no
// composite check digit).
//
// Parse validates structure, character set, dates and every check digit the
// format defines, and reports precisely what is wrong: a *SyntaxError names
// the field, line and position of a malformed character or length; a
// *CheckDigitError names the field, the position of the check digit, the
// digit found and the digit expected. Check-digit failures do not stop the
// parse: the Document is returned with every check's result, and the error
// joins one *CheckDigitError per failed check (errors.As finds the first).
//
// The parser is strict: it does not "correct" OCR confusions (O for 0, I for
// 1, B for 8, ...). A correction can turn a misread digit into a different,
// equally valid-looking digit, and the check digits are there to catch
// exactly that; whoever did the OCR knows the image and is the place to
// retry. An illegal character in a numeric field is reported with a hint
// naming the likely confusion.
//
// Input is bounded (MaxInputSize) and may carry surrounding whitespace,
// CRLF line ends and blank lines; nothing else is tolerated.
package mrz

import (
	"errors"
	"fmt"
	"strings"
)

// MaxInputSize bounds the text Parse accepts: a TD1 MRZ is 92 bytes with
// line ends; the limit leaves room for whitespace and nothing more.
const MaxInputSize = 512

// Format is the ICAO 9303 size class of a document.
type Format string

// The formats Parse recognises.
const (
	TD1 Format = "TD1" // 3 x 30: ID cards
	TD2 Format = "TD2" // 2 x 36: ID cards, MRV-B visas
	TD3 Format = "TD3" // 2 x 44: passports, MRV-A visas
)

// Document is a parsed MRZ. Dates are kept as written (YYMMDD): the century
// is not in the MRZ and depends on the use (see BirthYear, ExpiryYear).
type Document struct {
	Format         Format  `json:"format"`
	DocumentCode   string  `json:"document_code"` // e.g. "P", "I", "ID", "V" (fillers removed)
	IssuingState   string  `json:"issuing_state"` // ICAO 3-letter code, fillers removed (e.g. "D" for Germany)
	DocumentNumber string  `json:"document_number"`
	Surname        string  `json:"surname"`
	GivenNames     string  `json:"given_names"` // space separated
	Nationality    string  `json:"nationality"`
	BirthDate      string  `json:"birth_date"` // YYMMDD
	Sex            string  `json:"sex"`        // "M", "F" or "X" (unspecified, written '<' or 'X')
	ExpiryDate     string  `json:"expiry_date"`
	OptionalData   string  `json:"optional_data"`             // TD1 line 1 / TD2 / TD3 personal number, fillers trimmed
	OptionalData2  string  `json:"optional_data_2,omitempty"` // TD1 line 2 only
	Checks         []Check `json:"checks"`
}

// Check is the result of one check digit.
type Check struct {
	Field    string `json:"field"`    // "document number", "birth date", "expiry date", "optional data", "personal number", "composite"
	Line     int    `json:"line"`     // 1-based line of the check digit
	Position int    `json:"position"` // 1-based position of the check digit in its line
	Expected string `json:"expected"` // the digit the data computes to
	Got      string `json:"got"`      // the digit in the MRZ
	Valid    bool   `json:"valid"`
}

// Valid reports whether every check digit matched.
func (d *Document) Valid() bool {
	for _, c := range d.Checks {
		if !c.Valid {
			return false
		}
	}
	return true
}

// SyntaxError is malformed input: wrong size, a character outside the MRZ
// alphabet, a letter in a numeric field, an impossible date.
type SyntaxError struct {
	Field    string // field concerned, or "" for the whole input
	Line     int    // 1-based, 0 when not about one line
	Position int    // 1-based, 0 when not about one character
	Reason   string
}

func (e *SyntaxError) Error() string {
	var b strings.Builder
	b.WriteString("mrz: ")
	if e.Line > 0 {
		fmt.Fprintf(&b, "line %d ", e.Line)
		if e.Position > 0 {
			fmt.Fprintf(&b, "position %d ", e.Position)
		}
	}
	if e.Field != "" {
		fmt.Fprintf(&b, "(%s) ", e.Field)
	}
	if e.Line > 0 || e.Field != "" {
		b.WriteString(": ")
	}
	b.WriteString(e.Reason)
	return b.String()
}

// CheckDigitError is one failed check digit.
type CheckDigitError struct{ Check }

func (e *CheckDigitError) Error() string {
	return fmt.Sprintf("mrz: %s check digit at line %d position %d is %q, expected %q",
		e.Field, e.Line, e.Position, e.Got, e.Expected)
}

// ErrTooLarge is returned for input over MaxInputSize.
var ErrTooLarge = errors.New("mrz: input larger than " + fmt.Sprint(MaxInputSize) + " bytes")

// CheckDigit computes the ICAO 9303 check digit of s: weights 7, 3, 1
// repeating; digits count their value, A-Z count 10-35, '<' counts 0.
// ok is false when s holds a character outside the MRZ alphabet.
func CheckDigit(s string) (digit byte, ok bool) {
	weights := [3]int{7, 3, 1}
	sum := 0
	for i := 0; i < len(s); i++ {
		v, ok := charValue(s[i])
		if !ok {
			return 0, false
		}
		sum += v * weights[i%3]
	}
	return byte('0' + sum%10), true
}

func charValue(c byte) (int, bool) {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0'), true
	case c >= 'A' && c <= 'Z':
		return int(c-'A') + 10, true
	case c == '<':
		return 0, true
	}
	return 0, false
}

// Parse parses an MRZ given as text, one MRZ line per text line.
func Parse(text string) (*Document, error) {
	if len(text) > MaxInputSize {
		return nil, ErrTooLarge
	}
	lines, err := splitLines(text)
	if err != nil {
		return nil, err
	}
	p := &parser{lines: lines}
	switch {
	case len(lines) == 3 && sameLen(lines, 30):
		return p.td1()
	case len(lines) == 2 && sameLen(lines, 36):
		return p.td23(TD2)
	case len(lines) == 2 && sameLen(lines, 44):
		return p.td23(TD3)
	}
	lens := make([]string, len(lines))
	for i, l := range lines {
		lens[i] = fmt.Sprint(len(l))
	}
	return nil, &SyntaxError{Reason: fmt.Sprintf("got %d line(s) of length %s; want 3 lines of 30 (TD1), 2 of 36 (TD2) or 2 of 44 (TD3)",
		len(lines), strings.Join(lens, ", "))}
}

func sameLen(lines []string, n int) bool {
	for _, l := range lines {
		if len(l) != n {
			return false
		}
	}
	return true
}

// splitLines trims the input, splits it into lines (LF or CRLF), drops blank
// lines and checks the alphabet.
func splitLines(text string) ([]string, error) {
	var lines []string
	for _, raw := range strings.Split(strings.TrimSpace(text), "\n") {
		l := strings.TrimRight(raw, "\r")
		l = strings.TrimSpace(l)
		if l == "" {
			continue
		}
		lines = append(lines, l)
	}
	if len(lines) == 0 {
		return nil, &SyntaxError{Reason: "empty input"}
	}
	if len(lines) > 3 {
		return nil, &SyntaxError{Reason: fmt.Sprintf("got %d lines; an MRZ has 2 or 3", len(lines))}
	}
	for i, l := range lines {
		for j := 0; j < len(l); j++ {
			if _, ok := charValue(l[j]); !ok {
				return nil, &SyntaxError{Line: i + 1, Position: j + 1,
					Reason: fmt.Sprintf("character %q is not in the MRZ alphabet (A-Z, 0-9, '<')", rune(l[j]))}
			}
		}
	}
	return lines, nil
}

type parser struct {
	lines []string
	doc   Document
	errs  []error
}

// field returns line l (1-based) positions [from, to] (1-based, inclusive).
func (p *parser) field(l, from, to int) string { return p.lines[l-1][from-1 : to] }

// alpha checks that a field holds only letters and fillers.
func (p *parser) alpha(name string, l, from, to int) (string, error) {
	s := p.field(l, from, to)
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'A' && c <= 'Z' || c == '<') {
			return "", &SyntaxError{Field: name, Line: l, Position: from + i,
				Reason: fmt.Sprintf("%q is not a letter or '<'%s", rune(c), letterHint(c))}
		}
	}
	return strings.TrimRight(s, "<"), nil
}

// numeric checks that a field holds only digits.
func (p *parser) numeric(name string, l, from, to int) (string, error) {
	s := p.field(l, from, to)
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < '0' || c > '9' {
			return "", &SyntaxError{Field: name, Line: l, Position: from + i,
				Reason: fmt.Sprintf("%q is not a digit%s", rune(c), digitHint(c))}
		}
	}
	return s, nil
}

// ocrDigit maps letters that OCR commonly confuses with digits, for hints.
var ocrDigit = map[byte]byte{'O': '0', 'D': '0', 'Q': '0', 'I': '1', 'L': '1', 'Z': '2', 'S': '5', 'G': '6', 'B': '8'}

func digitHint(c byte) string {
	if d, ok := ocrDigit[c]; ok {
		return fmt.Sprintf(" (OCR may have misread %q as %q; the parser does not correct it)", rune(d), rune(c))
	}
	return ""
}

func letterHint(c byte) string {
	for l, d := range ocrDigit {
		if d == c {
			return fmt.Sprintf(" (OCR may have misread a letter such as %q as %q; the parser does not correct it)", rune(l), rune(c))
		}
	}
	return ""
}

// date checks a YYMMDD field.
func (p *parser) date(name string, l, from int) (string, error) {
	s, err := p.numeric(name, l, from, from+5)
	if err != nil {
		return "", err
	}
	month := int(s[2]-'0')*10 + int(s[3]-'0')
	day := int(s[4]-'0')*10 + int(s[5]-'0')
	if month < 1 || month > 12 {
		return "", &SyntaxError{Field: name, Line: l, Position: from + 2, Reason: fmt.Sprintf("month %02d is not 01-12", month)}
	}
	// February may have 29 days: the century is unknown, and 2000 was a leap year.
	maxDay := [13]int{0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}[month]
	if day < 1 || day > maxDay {
		return "", &SyntaxError{Field: name, Line: l, Position: from + 4, Reason: fmt.Sprintf("day %02d is not valid in month %02d", day, month)}
	}
	return s, nil
}

// check verifies the check digit at line l position pos over data. When
// fillerOK, a '<' check digit is accepted for an all-filler field (ICAO
// allows it for empty optional data / personal number).
func (p *parser) check(name string, data string, l, pos int, fillerOK bool) error {
	got := p.lines[l-1][pos-1]
	want, _ := CheckDigit(data) // alphabet already checked
	c := Check{Field: name, Line: l, Position: pos, Expected: string(want), Got: string(got)}
	switch {
	case got == '<' && fillerOK && strings.Trim(data, "<") == "":
		c.Expected, c.Valid = "<", true
	case got >= '0' && got <= '9':
		c.Valid = got == want
	case got == '<' || got >= 'A' && got <= 'Z':
		return &SyntaxError{Field: name + " check digit", Line: l, Position: pos,
			Reason: fmt.Sprintf("%q is not a digit%s", rune(got), digitHint(got))}
	}
	p.doc.Checks = append(p.doc.Checks, c)
	if !c.Valid {
		p.errs = append(p.errs, &CheckDigitError{c})
	}
	return nil
}

// names splits a name field on the first "<<" into surname and given names.
func (p *parser) names(l, from, to int) error {
	s, err := p.alpha("name", l, from, to)
	if err != nil {
		return err
	}
	surname, given, _ := strings.Cut(s, "<<")
	p.doc.Surname = strings.TrimSpace(strings.ReplaceAll(surname, "<", " "))
	p.doc.GivenNames = strings.Join(strings.FieldsFunc(given, func(r rune) bool { return r == '<' }), " ")
	if p.doc.Surname == "" {
		return &SyntaxError{Field: "name", Line: l, Position: from, Reason: "primary identifier (surname) is empty"}
	}
	return nil
}

func (p *parser) header() error {
	code := p.field(1, 1, 2)
	if c := code[0]; c < 'A' || c > 'Z' {
		return &SyntaxError{Field: "document code", Line: 1, Position: 1, Reason: fmt.Sprintf("%q is not a letter", rune(c))}
	}
	if c := code[1]; !(c >= 'A' && c <= 'Z' || c == '<') {
		return &SyntaxError{Field: "document code", Line: 1, Position: 2, Reason: fmt.Sprintf("%q is not a letter or '<'", rune(c))}
	}
	p.doc.DocumentCode = strings.TrimRight(code, "<")
	state, err := p.alpha("issuing state", 1, 3, 5)
	if err != nil {
		return err
	}
	if state == "" {
		return &SyntaxError{Field: "issuing state", Line: 1, Position: 3, Reason: "issuing state is empty"}
	}
	p.doc.IssuingState = state
	return nil
}

func (p *parser) sex(l, pos int) error {
	switch c := p.lines[l-1][pos-1]; c {
	case 'M', 'F':
		p.doc.Sex = string(c)
	case 'X', '<':
		p.doc.Sex = "X"
	default:
		return &SyntaxError{Field: "sex", Line: l, Position: pos, Reason: fmt.Sprintf("%q is not M, F, X or '<'", rune(c))}
	}
	return nil
}

func (p *parser) nationality(l, from int) error {
	n, err := p.alpha("nationality", l, from, from+2)
	if err != nil {
		return err
	}
	p.doc.Nationality = n
	return nil
}

// number reads a document number of 9 characters at line l from `from`
// with its check digit at from+9. When the check digit position holds '<',
// the number continues in the optional data field [optFrom, optTo] (ICAO
// 9303 parts 5 and 6, note j): the extra characters, then the check digit,
// then a '<'. It returns the remaining optional data.
func (p *parser) number(l, from, optFrom, optTo int, overflowOK bool) (optional string, err error) {
	first := p.field(l, from, from+8)
	optional = p.field(l, optFrom, optTo)
	cdPos := from + 9
	if p.lines[l-1][cdPos-1] == '<' && overflowOK && strings.Trim(optional, "<") != "" {
		end := strings.IndexByte(optional, '<')
		if end < 0 {
			end = len(optional)
		}
		if end < 2 {
			return "", &SyntaxError{Field: "document number", Line: l, Position: optFrom,
				Reason: "number continues in the optional data but holds no characters before its check digit"}
		}
		number := first + optional[:end-1]
		p.doc.DocumentNumber = strings.TrimRight(first, "<") + optional[:end-1]
		if err := p.check("document number", number, l, optFrom+end-1, false); err != nil {
			return "", err
		}
		return optional[end:], nil
	}
	p.doc.DocumentNumber = strings.TrimRight(first, "<")
	if p.doc.DocumentNumber == "" {
		return "", &SyntaxError{Field: "document number", Line: l, Position: from, Reason: "document number is empty"}
	}
	return optional, p.check("document number", first, l, cdPos, false)
}

func (p *parser) done() (*Document, error) {
	if p.doc.Checks == nil {
		p.doc.Checks = []Check{}
	}
	return &p.doc, errors.Join(p.errs...)
}

// td1: line 1 code, state, number, check, optional; line 2 birth, check, sex,
// expiry, check, nationality, optional 2, composite; line 3 name.
func (p *parser) td1() (*Document, error) {
	p.doc.Format = TD1
	if err := p.header(); err != nil {
		return nil, err
	}
	opt, err := p.number(1, 6, 16, 30, true)
	if err != nil {
		return nil, err
	}
	p.doc.OptionalData = strings.TrimRight(strings.TrimLeft(opt, "<"), "<")
	if p.doc.BirthDate, err = p.date("birth date", 2, 1); err != nil {
		return nil, err
	}
	if err := p.check("birth date", p.doc.BirthDate, 2, 7, false); err != nil {
		return nil, err
	}
	if err := p.sex(2, 8); err != nil {
		return nil, err
	}
	if p.doc.ExpiryDate, err = p.date("expiry date", 2, 9); err != nil {
		return nil, err
	}
	if err := p.check("expiry date", p.doc.ExpiryDate, 2, 15, false); err != nil {
		return nil, err
	}
	if err := p.nationality(2, 16); err != nil {
		return nil, err
	}
	p.doc.OptionalData2 = strings.TrimRight(p.field(2, 19, 29), "<")
	composite := p.field(1, 6, 30) + p.field(2, 1, 7) + p.field(2, 9, 15) + p.field(2, 19, 29)
	if err := p.check("composite", composite, 2, 30, false); err != nil {
		return nil, err
	}
	if err := p.names(3, 1, 30); err != nil {
		return nil, err
	}
	return p.done()
}

// td23 parses TD2 and TD3 (and MRV-B / MRV-A visas, which have no
// composite check digit and unchecked optional data).
func (p *parser) td23(f Format) (*Document, error) {
	p.doc.Format = f
	n := 36
	if f == TD3 {
		n = 44
	}
	if err := p.header(); err != nil {
		return nil, err
	}
	visa := p.doc.DocumentCode[0] == 'V'
	if err := p.names(1, 6, n); err != nil {
		return nil, err
	}
	optTo := n - 1 // TD2: 29-35, TD3: 29-42 (+ its check digit at 43)
	if f == TD3 && !visa {
		optTo = n - 2
	}
	if visa {
		optTo = n
	}
	opt, err := p.number(2, 1, 29, optTo, f == TD2 && !visa)
	if err != nil {
		return nil, err
	}
	if err := p.nationality(2, 11); err != nil {
		return nil, err
	}
	if p.doc.BirthDate, err = p.date("birth date", 2, 14); err != nil {
		return nil, err
	}
	if err := p.check("birth date", p.doc.BirthDate, 2, 20, false); err != nil {
		return nil, err
	}
	if err := p.sex(2, 21); err != nil {
		return nil, err
	}
	if p.doc.ExpiryDate, err = p.date("expiry date", 2, 22); err != nil {
		return nil, err
	}
	if err := p.check("expiry date", p.doc.ExpiryDate, 2, 28, false); err != nil {
		return nil, err
	}
	p.doc.OptionalData = strings.Trim(opt, "<")
	if visa {
		return p.done()
	}
	if f == TD3 {
		if err := p.check("personal number", p.field(2, 29, 42), 2, 43, true); err != nil {
			return nil, err
		}
	}
	composite := p.field(2, 1, 10) + p.field(2, 14, 20) + p.field(2, 22, n-1)
	if err := p.check("composite", composite, 2, n, false); err != nil {
		return nil, err
	}
	return p.done()
}
