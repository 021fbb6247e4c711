package mail

import (
	"time"
)

// Render runs Send's checks and rendering without any I/O, for the fuzz
// target in the external test package.
func Render(from string, m Message, now time.Time) ([]byte, error) {
	var p problems
	fromAddr := parseAddress(&p, "from", from)
	if err := p.err("mail.Render"); err != nil {
		return nil, err
	}
	to, err := checkMessage("mail.Render", m)
	if err != nil {
		return nil, err
	}
	return compose(fromAddr, to, m, now), nil
}
