package audit

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"time"

	"github.com/rampart-platform/rampart/internal/logx"
)

// Outcomes of an audited action.
const (
	Success = "success"
	Failure = "failure"
	Denied  = "denied"
)

// PlatformOrg is the chain of events that belong to no organization
// (operator actions, start-up, platform key operations).
const PlatformOrg = ""

// Event is what a caller records. Time and sequence are assigned by Append.
type Event struct {
	Org       string         // organization id; PlatformOrg for platform events
	Actor     string         // who: "user:<id>", "operator:<id>", "system", "cli"
	Action    string         // what, dotted: "keys.rotate", "auth.login"
	Target    string         // on what: "org:<id>", "record:<id>"
	Outcome   string         // Success, Failure or Denied
	IP        string         // client address, if any
	UserAgent string         // client software, if any
	Details   map[string]any // ids and field names; never secret values
}

// Entry is a stored event with its place in the chain.
type Entry struct {
	Event
	Seq      int64
	Time     time.Time
	Details  string // canonical JSON of Event.Details, as hashed
	PrevHash []byte
	Hash     []byte
}

// hashDomain separates audit hashes from any other SHA-256 use.
const hashDomain = "rampart-audit-v1\x00"

// HashSize is the size of an entry hash.
const HashSize = sha256.Size

// genesis is the previous hash of the first entry of every chain.
var genesis = make([]byte, HashSize)

// entryHash is SHA-256 over the previous hash and every field: numbers as
// varints, strings prefixed with their varint length, so that no two
// different entries encode alike.
func entryHash(prev []byte, org string, seq, atMicro int64, actor, action, target, outcome, ip, ua, details string) []byte {
	buf := make([]byte, 0, 256+len(details))
	buf = append(buf, hashDomain...)
	buf = append(buf, prev...)
	buf = binary.AppendVarint(buf, seq)
	buf = binary.AppendVarint(buf, atMicro)
	for _, s := range [...]string{org, actor, action, target, outcome, ip, ua, details} {
		buf = binary.AppendVarint(buf, int64(len(s)))
		buf = append(buf, s...)
	}
	sum := sha256.Sum256(buf)
	return sum[:]
}

func (e *Entry) computeHash() []byte {
	return entryHash(e.PrevHash, e.Org, e.Seq, e.Time.UnixMicro(), e.Actor, e.Action, e.Target, e.Outcome, e.IP, e.UserAgent, e.Details)
}

// canonicalDetails renders details as JSON with sorted keys, secrets
// redacted by key name and free text scrubbed of secret shapes.
func canonicalDetails(d map[string]any) (string, error) {
	if len(d) == 0 {
		return "{}", nil
	}
	clean := make(map[string]any, len(d))
	for k, v := range d {
		clean[k] = scrub(k, v)
	}
	b, err := json.Marshal(clean) // encoding/json sorts map keys
	if err != nil {
		return "", err
	}
	return string(b), nil
}

func scrub(key string, v any) any {
	if logx.IsSecretKey(key) {
		return logx.Redacted
	}
	switch x := v.(type) {
	case string:
		return logx.RedactString(x)
	case []string:
		out := make([]string, len(x))
		for i, s := range x {
			out[i] = logx.RedactString(s)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, vv := range x {
			out[k] = scrub(k, vv)
		}
		return out
	case error:
		return logx.RedactString(x.Error())
	}
	return v
}

func timeMicro(us int64) time.Time { return time.UnixMicro(us).UTC() }
