package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"hash"
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

// chainHasher computes entry hashes: HMAC-SHA-256, under the chain key,
// over the previous hash and every field (numbers as varints, each field
// prefixed with its varint length, so no two different entries encode
// alike). Keyed, so that rewriting an entry and recomputing every later
// link needs the chain key, which only the root key can unwrap. It reuses
// its buffers: verification hashes hundreds of thousands of entries.
type chainHasher struct {
	mac hash.Hash
	buf []byte
	sum []byte
}

// hash returns the entry hash; the result is valid until the next call.
func (h *chainHasher) hash(prev []byte, seq, atMicro int64, fields *[8][]byte) []byte {
	b := append(h.buf[:0], hashDomain...)
	b = append(b, prev...)
	b = binary.AppendVarint(b, seq)
	b = binary.AppendVarint(b, atMicro)
	for _, f := range fields {
		b = binary.AppendVarint(b, int64(len(f)))
		b = append(b, f...)
	}
	h.buf = b
	h.mac.Reset()
	h.mac.Write(b)
	h.sum = h.mac.Sum(h.sum[:0])
	return h.sum
}

func (e *Entry) computeHash(h *chainHasher) []byte {
	fields := [8][]byte{[]byte(e.Org), []byte(e.Actor), []byte(e.Action), []byte(e.Target), []byte(e.Outcome), []byte(e.IP), []byte(e.UserAgent), []byte(e.Details)}
	return bytes.Clone(h.hash(e.PrevHash, e.Seq, e.Time.UnixMicro(), &fields))
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
