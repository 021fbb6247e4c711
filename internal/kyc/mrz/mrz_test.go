package mrz

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// The ICAO Doc 9303 specimens (part 4 appendix B for TD3, part 5 for TD1,
// part 6 for TD2). Their check digits were recomputed by hand with the
// 7-3-1 rule and agree with CheckDigit.
const (
	specimenTD3 = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10"
	specimenTD1 = "I<UTOD231458907<<<<<<<<<<<<<<<\n7408122F1204159UTO<<<<<<<<<<<6\nERIKSSON<<ANNA<MARIA<<<<<<<<<<"
	specimenTD2 = "I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<\nD231458907UTO7408122F1204159<<<<<<<6"
)

func TestCheckDigitKnownAnswers(t *testing.T) {
	for in, want := range map[string]byte{
		"L898902C3":      '6', // TD3 specimen document number
		"740812":         '2',
		"120415":         '9',
		"ZE184226B<<<<<": '1',
		"D23145890":      '7',
		"D23145890734":   '9', // part 5 long document number example
		"":               '0',
		"<<<<":           '0',
	} {
		got, ok := CheckDigit(in)
		if !ok || got != want {
			t.Errorf("CheckDigit(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	if _, ok := CheckDigit("ab"); ok {
		t.Error("CheckDigit accepted lower case")
	}
}

func TestSpecimensParse(t *testing.T) {
	tests := []struct {
		name, in string
		want     Document
		checks   int
	}{
		{"TD3 passport", specimenTD3, Document{Format: TD3, DocumentCode: "P", IssuingState: "UTO", DocumentNumber: "L898902C3",
			Surname: "ERIKSSON", GivenNames: "ANNA MARIA", Nationality: "UTO", BirthDate: "740812", Sex: "F", ExpiryDate: "120415",
			OptionalData: "ZE184226B"}, 5},
		{"TD1 card", specimenTD1, Document{Format: TD1, DocumentCode: "I", IssuingState: "UTO", DocumentNumber: "D23145890",
			Surname: "ERIKSSON", GivenNames: "ANNA MARIA", Nationality: "UTO", BirthDate: "740812", Sex: "F", ExpiryDate: "120415"}, 4},
		{"TD2 card", specimenTD2, Document{Format: TD2, DocumentCode: "I", IssuingState: "UTO", DocumentNumber: "D23145890",
			Surname: "ERIKSSON", GivenNames: "ANNA MARIA", Nationality: "UTO", BirthDate: "740812", Sex: "F", ExpiryDate: "120415"}, 4},
		{"TD3 with CRLF and surrounding whitespace", "\r\n  " + strings.ReplaceAll(specimenTD3, "\n", "\r\n") + "  \r\n\n",
			Document{Format: TD3, DocumentCode: "P", IssuingState: "UTO", DocumentNumber: "L898902C3", Surname: "ERIKSSON",
				GivenNames: "ANNA MARIA", Nationality: "UTO", BirthDate: "740812", Sex: "F", ExpiryDate: "120415", OptionalData: "ZE184226B"}, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !d.Valid() || len(d.Checks) != tt.checks {
				t.Fatalf("checks = %+v; want %d valid", d.Checks, tt.checks)
			}
			got := *d
			got.Checks = nil
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// withComposite recomputes the composite check digit of a TD1 so that a
// test can change line 1 and still isolate the failure it is about.
func td1WithComposite(l1, l2, l3 string) string {
	c, _ := CheckDigit(l1[5:30] + l2[0:7] + l2[8:15] + l2[18:29])
	return l1 + "\n" + l2[:29] + string(c) + "\n" + l3
}

func TestTD1LongDocumentNumberOverflowsIntoOptionalData(t *testing.T) {
	// ICAO 9303 part 5: a 12-character number D23145890734 keeps its first
	// 9 characters in 6-14, '<' at 15, then "734", its check digit 9, '<'.
	in := td1WithComposite("I<UTOD23145890<7349<<<<<<<<<<<", "7408122F1204159UTO<<<<<<<<<<<0", "ERIKSSON<<ANNA<MARIA<<<<<<<<<<")
	d, err := Parse(in)
	if err != nil {
		t.Fatal(err)
	}
	if d.DocumentNumber != "D23145890734" || d.OptionalData != "" {
		t.Errorf("number %q optional %q", d.DocumentNumber, d.OptionalData)
	}
	if c := d.Checks[0]; c.Field != "document number" || c.Line != 1 || c.Position != 19 || !c.Valid {
		t.Errorf("number check = %+v", c)
	}
	bad := strings.Replace(in, "7349<", "7348<", 1)
	bad = td1WithComposite(strings.Split(bad, "\n")[0], strings.Split(bad, "\n")[1], strings.Split(bad, "\n")[2])
	_, err = Parse(bad)
	var ce *CheckDigitError
	if !errors.As(err, &ce) || ce.Field != "document number" || ce.Position != 19 || ce.Got != "8" || ce.Expected != "9" {
		t.Fatalf("err = %v", err)
	}
}

func TestEachWrongCheckDigitIsNamed(t *testing.T) {
	// setDigit replaces line l position p (1-based) of s.
	setDigit := func(s string, l, p int, c byte) string {
		lines := strings.Split(s, "\n")
		b := []byte(lines[l-1])
		b[p-1] = c
		lines[l-1] = string(b)
		return strings.Join(lines, "\n")
	}
	tests := []struct {
		name       string
		in         string
		line, pos  int
		field      string
		want, with byte
	}{
		{"TD3 document number", specimenTD3, 2, 10, "document number", '6', '5'},
		{"TD3 birth date", specimenTD3, 2, 20, "birth date", '2', '3'},
		{"TD3 expiry date", specimenTD3, 2, 28, "expiry date", '9', '0'},
		{"TD3 personal number", specimenTD3, 2, 43, "personal number", '1', '7'},
		{"TD3 composite", specimenTD3, 2, 44, "composite", '0', '4'},
		{"TD1 document number", specimenTD1, 1, 15, "document number", '7', '1'},
		{"TD1 birth date", specimenTD1, 2, 7, "birth date", '2', '9'},
		{"TD1 expiry date", specimenTD1, 2, 15, "expiry date", '9', '8'},
		{"TD1 composite", specimenTD1, 2, 30, "composite", '6', '2'},
		{"TD2 document number", specimenTD2, 2, 10, "document number", '7', '0'},
		{"TD2 birth date", specimenTD2, 2, 20, "birth date", '2', '1'},
		{"TD2 expiry date", specimenTD2, 2, 28, "expiry date", '9', '3'},
		{"TD2 composite", specimenTD2, 2, 36, "composite", '6', '5'},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Parse(setDigit(tt.in, tt.line, tt.pos, tt.with))
			var ce *CheckDigitError
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v; want a CheckDigitError", err)
			}
			if ce.Field != tt.field || ce.Line != tt.line || ce.Position != tt.pos || ce.Expected != string(tt.want) || ce.Got != string(tt.with) {
				t.Errorf("got %+v", ce.Check)
			}
			if d == nil || d.Valid() {
				t.Fatalf("document = %+v; want it returned with a failed check", d)
			}
			// The composite covers the other check digits, so a wrong check
			// digit fails its own check and the composite, nothing else.
			wantFailed := 2
			if tt.field == "composite" {
				wantFailed = 1
			}
			failed := 0
			for _, c := range d.Checks {
				if !c.Valid {
					failed++
				}
			}
			if failed != wantFailed {
				t.Errorf("%d checks failed; want %d", failed, wantFailed)
			}
			if !strings.Contains(err.Error(), tt.field+" check digit at line") {
				t.Errorf("message %q does not name the field", err)
			}
		})
	}
}

func TestAlteredDataFailsItsCheckAndTheComposite(t *testing.T) {
	in := strings.Replace(specimenTD3, "7408122F", "7408132F", 1) // birth date 740813
	d, err := Parse(in)
	if err == nil {
		t.Fatal("no error")
	}
	var names []string
	for _, c := range d.Checks {
		if !c.Valid {
			names = append(names, c.Field)
		}
	}
	if strings.Join(names, ",") != "birth date,composite" {
		t.Errorf("failed checks = %v", names)
	}
}

func TestMalformedInputIsRefusedPrecisely(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "  \n ", "mrz: empty input"},
		{"wrong length", "P<UTOERIKSSON\nL898902C36", "got 2 line(s) of length 13, 10; want 3 lines of 30 (TD1), 2 of 36 (TD2) or 2 of 44 (TD3)"},
		{"four lines", "A\nB\nC\nD", "got 4 lines"},
		{"lower case", strings.Replace(specimenTD3, "ERIKSSON", "Eriksson", 1), "line 1 position 7 : character 'r' is not in the MRZ alphabet"},
		{"space inside a line", strings.Replace(specimenTD3, "ANNA<MARIA", "ANNA MARIA", 1), "line 1 position 20 : character ' ' is not in the MRZ alphabet"},
		{"letter O in birth date", strings.Replace(specimenTD3, "7408122F", "74O8122F", 1), "line 2 position 16 (birth date) : 'O' is not a digit (OCR may have misread '0' as 'O'; the parser does not correct it)"},
		{"month 13", strings.Replace(specimenTD3, "7408122F", "7413122F", 1), "line 2 position 16 (birth date) : month 13 is not 01-12"},
		{"31 February", strings.Replace(specimenTD3, "1204159", "1202319", 1), "line 2 position 26 (expiry date) : day 31 is not valid in month 02"},
		{"digit in nationality", strings.Replace(specimenTD3, "C36UTO", "C36UT0", 1), "line 2 position 13 (nationality) : '0' is not a letter or '<' (OCR may have misread a letter such as"},
		{"letter as check digit", strings.Replace(specimenTD3, "C36UTO", "C3GUTO", 1), "line 2 position 10 (document number check digit) : 'G' is not a digit (OCR may have misread '6' as 'G'"},
		{"bad sex", strings.Replace(specimenTD3, "2F12", "2Q12", 1), "line 2 position 21 (sex) : 'Q' is not M, F, X or '<'"},
		{"digit in name", strings.Replace(specimenTD1, "ERIKSSON", "ER1KSSON", 1), "line 3 position 3 (name)"},
		{"no surname", strings.Replace(specimenTD2, "I<UTOERIKSSON<<", "I<UTO<<<<<<<<<<", 1), "primary identifier (surname) is empty"},
		{"too large", strings.Repeat(" ", MaxInputSize+1), "larger than 512 bytes"},
		{"non-ASCII", strings.Replace(specimenTD3, "ANNA", "ÄNNA", 1), "not in the MRZ alphabet"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Parse(tt.in)
			if err == nil || d != nil {
				t.Fatalf("Parse = %+v, %v; want an error", d, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q\nwant it to contain %q", err, tt.want)
			}
		})
	}
}

func TestPersonalNumberFillerCheckDigit(t *testing.T) {
	// An empty personal number may have '<' as its check digit.
	l2 := "L898902C36UTO7408122F1204159<<<<<<<<<<<<<<<"
	c, _ := CheckDigit(l2[0:10] + l2[13:20] + l2[21:43])
	d, err := Parse("P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\n" + l2[:43] + string(c))
	if err != nil {
		t.Fatal(err)
	}
	if d.OptionalData != "" || !d.Valid() {
		t.Errorf("%+v", d)
	}
}

func TestVisaHasNoCompositeCheck(t *testing.T) {
	// MRV-A (2 x 44): optional data 29-44 carries no check digit.
	d, err := Parse("V<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL8988901C4XXX4009078F96121096ZE184226B<<<<<<")
	if err != nil {
		t.Fatal(err)
	}
	if d.DocumentCode != "V" || d.Nationality != "XXX" || len(d.Checks) != 3 || d.OptionalData != "6ZE184226B" {
		t.Errorf("%+v", d)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{specimenTD1, specimenTD2, specimenTD3, "", "\n\n", "I<UTOD23145890<7349<<<<<<<<<<<\n7408122F1204159UTO<<<<<<<<<<<0\nERIKSSON<<ANNA<MARIA<<<<<<<<<<"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := Parse(s)
		if err == nil && d == nil {
			t.Fatal("nil document without error")
		}
		if d != nil {
			if (err == nil) != d.Valid() {
				t.Fatalf("err %v but Valid() = %v", err, d.Valid())
			}
			if len(d.BirthDate) != 6 || len(d.ExpiryDate) != 6 {
				t.Fatalf("dates %q %q", d.BirthDate, d.ExpiryDate)
			}
		}
		if err != nil && len(err.Error()) > 2048 {
			t.Fatalf("error message of %d bytes", len(err.Error()))
		}
	})
}
