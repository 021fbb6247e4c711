package kyc_test

import (
	"testing"

	"github.com/rampart-platform/rampart/internal/kyc"
)

func TestFindMRZPicksTheZoneOutOfOCRText(t *testing.T) {
	td3 := "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10"
	td1 := "I<UTOD231458907<<<<<<<<<<<<<<<\n7408122F1204159UTO<<<<<<<<<<<6\nERIKSSON<<ANNA<MARIA<<<<<<<<<<"
	for in, want := range map[string]string{
		"PASSPORT\nUtopia\nName: Anna\n\n" + td3 + "\n":                    td3,
		"IDENTITY CARD\n" + "I<UTOD231458907<<<<< <<<<<<<<<<\n" + td1[31:]: td1,
		"no zone here\nJUST<TEXT":                                          "",
	} {
		if got := kyc.FindMRZ(in); got != want {
			t.Errorf("FindMRZ(%q) = %q, want %q", in, got, want)
		}
	}
}
