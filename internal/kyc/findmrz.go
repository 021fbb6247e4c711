package kyc

import "strings"

// FindMRZ picks the machine-readable zone out of OCR text: spaces removed,
// the last run of 3 lines of 30 (TD1) or 2 lines of 36 (TD2) or 44 (TD3)
// characters of the MRZ alphabet. "" when there is none.
func FindMRZ(text string) string {
	var lines []string
	for _, l := range strings.Split(text, "\n") {
		l = strings.ReplaceAll(strings.TrimSpace(l), " ", "")
		if l != "" && strings.Trim(l, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789<") == "" {
			lines = append(lines, l)
		} else {
			lines = append(lines, "")
		}
	}
	for end := len(lines); end > 0; end-- {
		for _, f := range []struct{ n, width int }{{3, 30}, {2, 36}, {2, 44}} {
			if end-f.n < 0 {
				continue
			}
			run := lines[end-f.n : end]
			ok := true
			for _, l := range run {
				ok = ok && len(l) == f.width
			}
			if ok {
				return strings.Join(run, "\n")
			}
		}
	}
	return ""
}
