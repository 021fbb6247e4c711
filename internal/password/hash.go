package password

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"fmt"
	"runtime"
	"strings"

	"golang.org/x/crypto/argon2"

	"github.com/rampart-platform/rampart/internal/errs"
)

// MaxPasswordBytes is the longest password, in bytes, that a Hasher accepts.
// argon2 itself takes any length; the cap keeps a megabyte "password" from
// costing anything before it is refused. Policies limit lengths separately
// (in characters, and never above this).
const MaxPasswordBytes = 1024

// The weakest parameters a Hasher accepts for new hashes, taken from OWASP's
// Password Storage Cheat Sheet, whose equally strong argon2id profiles run
// from m=47104,t=1 to m=7168,t=5: all spend at least 35840 KiB-passes.
const (
	minMemoryKiB     = 7168
	minMemoryTimeKiB = 7168 * 5
	minNewSaltLen    = 16
)

// Params are argon2id cost parameters.
type Params struct {
	Memory  uint32 // memory in KiB (argon2's m)
	Time    uint32 // passes over memory (t)
	Threads uint8  // lanes computed in parallel (p)
	SaltLen uint32 // salt length in bytes
	KeyLen  uint32 // hash (tag) length in bytes
}

// DefaultParams returns m=19456 KiB (19 MiB), t=2, p=1 with a 16-byte salt
// and a 32-byte hash: OWASP's recommended minimum for argon2id. It costs
// 19 MiB and roughly 30-80 ms of one core per hash, which keeps logins quick
// while making each offline guess against a stolen hash as expensive; p=1
// because a login server gains throughput from parallel requests, not from
// parallel lanes within one. Raise Memory first if the hardware allows.
func DefaultParams() Params {
	return Params{Memory: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}
}

// Validate reports, all at once, every way p is unusable for new hashes:
// out of the ranges a stored hash may have, or weaker than OWASP's minimum
// (memory at least 7 MiB and memory × passes at least 35840 KiB, salt at
// least 16 bytes). The error is errs.Invalid.
func (p Params) Validate() error {
	problems := p.check(true)
	if len(problems) == 0 {
		return nil
	}
	return errs.E(errs.Invalid, "password.Params.Validate",
		"argon2id parameters are invalid: "+strings.Join(problems, "; "))
}

// check lists p's problems. Without floor it only checks the hard limits
// that parsePHC enforces, which lets tests use fast, weak parameters.
func (p Params) check(floor bool) []string {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if p.Memory < 8*uint32(p.Threads) || p.Memory > maxMemoryKiB {
		add("memory must be between 8 KiB per thread and %d KiB (got %d)", maxMemoryKiB, p.Memory)
	}
	if p.Time < 1 || p.Time > maxTime {
		add("time must be between 1 and %d (got %d)", maxTime, p.Time)
	}
	if p.Threads < 1 {
		add("threads must be at least 1 (got %d)", p.Threads)
	}
	if p.SaltLen < minSaltLen || p.SaltLen > maxSaltLen {
		add("salt length must be between %d and %d bytes (got %d)", minSaltLen, maxSaltLen, p.SaltLen)
	}
	if p.KeyLen < minKeyLen || p.KeyLen > maxKeyLen {
		add("key length must be between %d and %d bytes (got %d)", minKeyLen, maxKeyLen, p.KeyLen)
	}
	if !floor {
		return problems
	}
	if p.Memory < minMemoryKiB {
		add("memory must be at least %d KiB, the OWASP minimum (got %d)", minMemoryKiB, p.Memory)
	}
	if uint64(p.Memory)*uint64(p.Time) < minMemoryTimeKiB {
		add("memory × time must be at least %d KiB, the OWASP minimum, e.g. m=19456,t=2 (got m=%d,t=%d)",
			minMemoryTimeKiB, p.Memory, p.Time)
	}
	if p.SaltLen < minNewSaltLen {
		add("salt length must be at least %d bytes for new hashes (got %d)", minNewSaltLen, p.SaltLen)
	}
	return problems
}

// Hasher hashes and verifies passwords with argon2id, bounding the memory
// that concurrent operations may use. It is safe for concurrent use.
type Hasher struct {
	params Params
	// slots holds one token per argon2 computation of params.Memory KiB in
	// flight; its capacity is the concurrency bound. A verification of a
	// stored hash that costs more memory takes proportionally more tokens,
	// so the memory bound holds whatever the database contains.
	slots chan struct{}
	// gate (capacity 1) serializes taking tokens: a caller that needs k
	// tokens takes them one by one, and two such callers each holding part
	// of what they need would otherwise deadlock.
	gate chan struct{}
	// dummy is a PHC string with the current parameters, random salt and
	// random hash, which no password matches; see VerifyDummy.
	dummy string

	// onRun, set only by tests, is called as each argon2 computation
	// starts, with its memory in KiB; the function it returns is called as
	// the computation ends. It lets tests count what is really in flight.
	onRun func(memoryKiB uint32) (done func())
}

// NewHasher returns a Hasher that creates hashes with p and runs at most
// maxConcurrent argon2 computations of p.Memory KiB at a time (so at most
// MemoryBound bytes); maxConcurrent <= 0 means runtime.NumCPU()*2, enough to
// keep every core busy while one request waits on I/O. It panics if
// p.Validate fails: parameters come from configuration, which must be
// validated before the server starts.
func NewHasher(p Params, maxConcurrent int) *Hasher {
	if err := p.Validate(); err != nil {
		panic(err)
	}
	return newHasher(p, maxConcurrent)
}

// newHasher is NewHasher without the OWASP floor, for fast tests.
func newHasher(p Params, maxConcurrent int) *Hasher {
	if problems := p.check(false); len(problems) > 0 {
		panic("password.NewHasher: " + strings.Join(problems, "; "))
	}
	if maxConcurrent <= 0 {
		maxConcurrent = runtime.NumCPU() * 2
	}
	salt := make([]byte, p.SaltLen)
	key := make([]byte, p.KeyLen)
	// crypto/rand.Read never fails (it crashes the program instead).
	_, _ = rand.Read(salt)
	_, _ = rand.Read(key)
	return &Hasher{
		params: p,
		slots:  make(chan struct{}, maxConcurrent),
		gate:   make(chan struct{}, 1),
		dummy:  encodePHC(p, salt, key),
	}
}

// Params returns the parameters the Hasher uses for new hashes.
func (h *Hasher) Params() Params { return h.params }

// MemoryBound returns the most memory, in bytes, that the Hasher's argon2
// computations use at once: maxConcurrent × Memory KiB. Callers beyond it
// wait.
func (h *Hasher) MemoryBound() int64 {
	return int64(cap(h.slots)) * int64(h.params.Memory) * 1024
}

// Hash returns the argon2id PHC string of password with a fresh random salt.
// Errors: errs.Invalid if password is longer than MaxPasswordBytes;
// errs.Unavailable (wrapping ctx.Err()) if ctx ends while waiting for a slot.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	const op = "password.Hash"
	if len(password) > MaxPasswordBytes {
		return "", errTooLong(op)
	}
	salt := make([]byte, h.params.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", errs.E(op, err)
	}
	key, err := h.compute(ctx, op, h.params, salt, password)
	if err != nil {
		return "", err
	}
	return encodePHC(h.params, salt, key), nil
}

// Verify reports whether password matches the stored PHC string, comparing
// in constant time. needsRehash is true only when ok is true and the stored
// hash was made with other parameters than the Hasher's: the caller should
// then store Hash(password) (it never asks to replace a hash on a wrong
// password). Errors: errs.Invalid if password is longer than
// MaxPasswordBytes or stored is malformed, unsupported, out of the limits,
// or needs more memory than MemoryBound; errs.Unavailable (wrapping
// ctx.Err()) if ctx ends while waiting for a slot.
func (h *Hasher) Verify(ctx context.Context, stored, password string) (ok, needsRehash bool, err error) {
	return h.verify(ctx, "password.Verify", stored, password)
}

// VerifyDummy does the work of Verify against a hash with the Hasher's
// parameters that no password matches, and always reports no match. Call it
// when a login names an unknown user, so that the response takes as long as
// a wrong password for a real one and timing does not reveal which accounts
// exist. Errors are those of Verify for the password and ctx.
func (h *Hasher) VerifyDummy(ctx context.Context, password string) error {
	_, _, err := h.verify(ctx, "password.VerifyDummy", h.dummy, password)
	return err
}

func (h *Hasher) verify(ctx context.Context, op, stored, password string) (ok, needsRehash bool, err error) {
	if len(password) > MaxPasswordBytes {
		return false, false, errTooLong(op)
	}
	parsed, err := parsePHC(stored)
	if err != nil {
		return false, false, errs.E(errs.Invalid, op, "stored password hash is malformed or unsupported", err)
	}
	key, err := h.compute(ctx, op, parsed.params, parsed.salt, password)
	if err != nil {
		return false, false, err
	}
	ok = subtle.ConstantTimeCompare(key, parsed.key) == 1
	return ok, ok && parsed.params != h.params, nil
}

// compute runs argon2id with p once enough slots are free. p has been
// checked (by Validate or parsePHC), so argon2 cannot panic on it.
func (h *Hasher) compute(ctx context.Context, op string, p Params, salt []byte, password string) ([]byte, error) {
	// Tokens needed: ceil(p.Memory / h.params.Memory). Both are at most
	// maxMemoryKiB, so the sum cannot overflow.
	need := int((p.Memory + h.params.Memory - 1) / h.params.Memory)
	if need > cap(h.slots) {
		return nil, errs.E(errs.Invalid, op, "stored password hash needs more memory than this server allows",
			fmt.Errorf("phc: m=%d KiB exceeds the memory bound of %d bytes", p.Memory, h.MemoryBound()))
	}
	if err := h.acquire(ctx, need); err != nil {
		return nil, errs.E(errs.Unavailable, op, "too many password checks in progress; try again", err)
	}
	defer h.release(need)

	if h.onRun != nil {
		defer h.onRun(p.Memory)()
	}
	pw := []byte(password)
	defer clear(pw) // the string cannot be wiped, but this copy can
	return argon2.IDKey(pw, salt, p.Time, p.Memory, p.Threads, p.KeyLen), nil
}

// acquire takes n slot tokens, giving back any it took if ctx ends first.
func (h *Hasher) acquire(ctx context.Context, n int) error {
	// An ended ctx must fail even when a slot is free (select would pick
	// at random between the two ready cases).
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case h.gate <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-h.gate }()
	for i := 0; i < n; i++ {
		select {
		case h.slots <- struct{}{}:
		case <-ctx.Done():
			h.release(i)
			return ctx.Err()
		}
	}
	return nil
}

func (h *Hasher) release(n int) {
	for i := 0; i < n; i++ {
		<-h.slots
	}
}

func errTooLong(op string) error {
	return errs.E(errs.Invalid, op, fmt.Sprintf("password must be at most %d bytes", MaxPasswordBytes))
}
