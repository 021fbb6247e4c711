package password

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/rampart-platform/rampart/internal/errs"
)

// fastParams keep tests that are about structure, not cost, quick (64 KiB).
var fastParams = Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// Known-answer vectors computed with the reference implementation (the
// argon2 command of Debian's argon2 package, 0~20171227), independently of
// x/crypto, e.g.:
//
//	printf '%s' 'correct horse battery staple' | argon2 rampart-kat-salt -id -t 2 -k 19456 -p 1 -l 32 -e
var katVectors = []struct {
	name, password, salt, phc string
}{
	{
		name:     "default parameters",
		password: "correct horse battery staple",
		salt:     "rampart-kat-salt",
		phc:      "$argon2id$v=19$m=19456,t=2,p=1$cmFtcGFydC1rYXQtc2FsdA$RvsQw72rf0KNuYaGqMVe9CkZT91JTEqcD9V06NopUqE",
	},
	{
		name:     "four lanes and a 16-byte hash",
		password: "correct horse battery staple",
		salt:     "rampart-kat-salt",
		phc:      "$argon2id$v=19$m=64,t=1,p=4$cmFtcGFydC1rYXQtc2FsdA$l8fMpiYVcedeomoY+yMpVQ",
	},
	{
		name:     "non-ASCII password, 12-byte salt and a 64-byte hash",
		password: "pässwörd",
		salt:     "saltsaltsalt",
		phc:      "$argon2id$v=19$m=256,t=3,p=2$c2FsdHNhbHRzYWx0$ThJ7GFAtmPU7LczuEgXHi89M2qTW1NDa33mV/18deFOzq5yp5SghgFwyTCD8Ims/xAWn52OtM5UYmrA0TNYjcw",
	},
}

func TestPHCVersionIsTheOneXCryptoComputes(t *testing.T) {
	if argon2.Version != 19 || !strings.Contains(phcPrefix, "v=19") {
		t.Fatalf("argon2.Version = %d, prefix %q", argon2.Version, phcPrefix)
	}
}

func TestHashMatchesKnownAnswers(t *testing.T) {
	ctx := context.Background()
	for _, v := range katVectors {
		t.Run(v.name, func(t *testing.T) {
			parsed, err := parsePHC(v.phc)
			if err != nil {
				t.Fatal(err)
			}
			p := parsed.params
			h := newHasher(p, 1)
			key, err := h.compute(ctx, "test", p, []byte(v.salt), v.password)
			if err != nil {
				t.Fatal(err)
			}
			if got := encodePHC(p, []byte(v.salt), key); got != v.phc {
				t.Errorf("hash with fixed salt:\n got %s\nwant %s", got, v.phc)
			}
			ok, rehash, err := h.Verify(ctx, v.phc, v.password)
			if !ok || rehash || err != nil {
				t.Errorf("Verify(vector) = %v, %v, %v; want true, false, nil", ok, rehash, err)
			}
		})
	}
}

func TestHashThenVerifyRoundTrips(t *testing.T) {
	ctx := context.Background()
	fast := newHasher(fastParams, 2)
	for _, tc := range []struct {
		name string
		h    *Hasher
		pws  []string
	}{
		{"with default parameters", NewHasher(DefaultParams(), 0), []string{"correct horse battery staple"}},
		{"with fast parameters", fast, []string{"", "ünïcødé 🔑", strings.Repeat("x", MaxPasswordBytes)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, pw := range tc.pws {
				phc, err := tc.h.Hash(ctx, pw)
				if err != nil {
					t.Fatal(err)
				}
				p := tc.h.Params()
				if !strings.HasPrefix(phc, "$argon2id$v=19$") {
					t.Fatalf("unexpected PHC string %q", phc)
				}
				parsed, err := parsePHC(phc)
				if err != nil {
					t.Fatalf("own hash does not parse: %v", err)
				}
				if parsed.params != p {
					t.Errorf("params in PHC = %+v, want %+v", parsed.params, p)
				}
				ok, rehash, err := tc.h.Verify(ctx, phc, pw)
				if !ok || rehash || err != nil {
					t.Errorf("Verify(right password) = %v, %v, %v; want true, false, nil", ok, rehash, err)
				}
			}
		})
	}
}

func TestHashUsesAFreshSaltEachTime(t *testing.T) {
	h := newHasher(fastParams, 2)
	a, _ := h.Hash(context.Background(), "same password")
	b, _ := h.Hash(context.Background(), "same password")
	if a == b {
		t.Fatal("two hashes of one password are equal: salt not random")
	}
}

func TestVerifyRejectsWrongPasswords(t *testing.T) {
	ctx := context.Background()
	h := newHasher(fastParams, 2)
	phc, err := h.Hash(ctx, "Correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	for _, wrong := range []string{"correct horse battery staple", "Correct horse battery staple ", "", "Correct horse battery stapl"} {
		ok, rehash, err := h.Verify(ctx, phc, wrong)
		if ok || rehash || err != nil {
			t.Errorf("Verify(%q) = %v, %v, %v; want false, false, nil", wrong, ok, rehash, err)
		}
	}
}

func TestVerifyAsksForRehashWhenParametersChanged(t *testing.T) {
	ctx := context.Background()
	old := newHasher(fastParams, 4)
	phc, err := old.Hash(ctx, "hunter2 but longer")
	if err != nil {
		t.Fatal(err)
	}
	change := map[string]func(*Params){
		"memory":      func(p *Params) { p.Memory = 128 },
		"time":        func(p *Params) { p.Time = 2 },
		"threads":     func(p *Params) { p.Threads = 2 },
		"salt length": func(p *Params) { p.SaltLen = 32 },
		"key length":  func(p *Params) { p.KeyLen = 64 },
	}
	for name, f := range change {
		t.Run("when "+name+" changed", func(t *testing.T) {
			p := fastParams
			f(&p)
			h := newHasher(p, 4)
			ok, rehash, err := h.Verify(ctx, phc, "hunter2 but longer")
			if !ok || !rehash || err != nil {
				t.Errorf("Verify(right password) = %v, %v, %v; want true, true, nil", ok, rehash, err)
			}
			// Never ask to overwrite a hash with an unverified password.
			ok, rehash, err = h.Verify(ctx, phc, "wrong")
			if ok || rehash || err != nil {
				t.Errorf("Verify(wrong password) = %v, %v, %v; want false, false, nil", ok, rehash, err)
			}
			fresh, _ := h.Hash(ctx, "hunter2 but longer")
			if ok, rehash, _ := h.Verify(ctx, fresh, "hunter2 but longer"); !ok || rehash {
				t.Errorf("after re-hash: ok=%v rehash=%v; want true, false", ok, rehash)
			}
		})
	}
}

func TestPasswordsLongerThanTheCapAreRefused(t *testing.T) {
	ctx := context.Background()
	h := newHasher(fastParams, 2)
	long := strings.Repeat("a", MaxPasswordBytes+1)
	phc, _ := h.Hash(ctx, "short")
	ran := countRuns(h)

	_, err := h.Hash(ctx, long)
	assertKind(t, "Hash", err, errs.Invalid)
	_, _, err = h.Verify(ctx, phc, long)
	assertKind(t, "Verify", err, errs.Invalid)
	assertKind(t, "VerifyDummy", h.VerifyDummy(ctx, long), errs.Invalid)
	if errs.SafeMessage(err) != "password must be at most 1024 bytes" {
		t.Errorf("message = %q", errs.SafeMessage(err))
	}
	if n := ran(); n != 0 {
		t.Errorf("argon2 ran %d times for refused passwords", n)
	}
}

// hostilePHC are stored hashes that Verify must refuse before running argon2
// or allocating more than a few hundred bytes. Each mutates one part of a
// valid string, so each tests one check.
var hostilePHC = func() map[string]string {
	const valid = "$argon2id$v=19$m=64,t=1,p=1$cmFtcGFydC1rYXQtc2FsdA$RvsQw72rf0KNuYaGqMVe9CkZT91JTEqcD9V06NopUqE"
	salt65 := b64.EncodeToString(make([]byte, 65))
	key65 := salt65
	return map[string]string{
		"empty":                         "",
		"not a PHC string":              "hunter2",
		"argon2i":                       strings.Replace(valid, "argon2id", "argon2i", 1),
		"argon2d":                       strings.Replace(valid, "argon2id", "argon2d", 1),
		"bcrypt":                        "$2b$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
		"version 16":                    strings.Replace(valid, "v=19", "v=16", 1),
		"no version":                    strings.Replace(valid, "v=19$", "", 1),
		"memory above 4 GiB":            strings.Replace(valid, "m=64", "m=4194305", 1),
		"memory of 11 digits":           strings.Replace(valid, "m=64", "m=99999999999", 1),
		"memory overflowing uint64":     strings.Replace(valid, "m=64", "m=18446744073709551617", 1),
		"memory zero":                   strings.Replace(valid, "m=64", "m=0", 1),
		"memory below 8 KiB per lane":   strings.Replace(valid, "m=64,t=1,p=1", "m=15,t=1,p=2", 1),
		"memory with a leading zero":    strings.Replace(valid, "m=64", "m=064", 1),
		"memory with a sign":            strings.Replace(valid, "m=64", "m=+64", 1),
		"memory negative":               strings.Replace(valid, "m=64", "m=-64", 1),
		"memory in hex":                 strings.Replace(valid, "m=64", "m=0x40", 1),
		"time above 100":                strings.Replace(valid, "t=1", "t=101", 1),
		"time zero":                     strings.Replace(valid, "t=1", "t=0", 1),
		"threads above 255":             strings.Replace(valid, "p=1", "p=256", 1),
		"threads zero":                  strings.Replace(valid, "p=1", "p=0", 1),
		"parameters out of order":       strings.Replace(valid, "m=64,t=1,p=1", "t=1,m=64,p=1", 1),
		"parameter missing":             strings.Replace(valid, "m=64,t=1,p=1", "m=64,t=1", 1),
		"extra parameter":               strings.Replace(valid, "p=1", "p=1,keyid=abc", 1),
		"space in parameters":           strings.Replace(valid, "t=1", "t= 1", 1),
		"salt of 4 bytes":               strings.Replace(valid, "cmFtcGFydC1rYXQtc2FsdA", "cmFtcA", 1),
		"salt of 65 bytes":              strings.Replace(valid, "cmFtcGFydC1rYXQtc2FsdA", salt65, 1),
		"salt of 1 MiB":                 strings.Replace(valid, "cmFtcGFydC1rYXQtc2FsdA", strings.Repeat("A", 1<<20), 1),
		"salt padded":                   strings.Replace(valid, "cmFtcGFydC1rYXQtc2FsdA", "cmFtcGFydC1rYXQtc2FsdA==", 1),
		"salt with non-zero tail bits":  strings.Replace(valid, "cmFtcGFydC1rYXQtc2FsdA", "cmFtcGFydC1rYXQtc2FsdB", 1),
		"salt in URL-safe base64":       strings.Replace(valid, "cmFtcGFydC1rYXQtc2FsdA", "cmFtcGFydC1rYXQtc2Fsd-", 1),
		"salt empty":                    strings.Replace(valid, "cmFtcGFydC1rYXQtc2FsdA", "", 1),
		"hash of 8 bytes":               strings.Replace(valid, "RvsQw72rf0KNuYaGqMVe9CkZT91JTEqcD9V06NopUqE", "RvsQw72rf0I", 1),
		"hash of 65 bytes":              strings.Replace(valid, "RvsQw72rf0KNuYaGqMVe9CkZT91JTEqcD9V06NopUqE", key65, 1),
		"hash missing":                  strings.Replace(valid, "$RvsQw72rf0KNuYaGqMVe9CkZT91JTEqcD9V06NopUqE", "", 1),
		"extra field":                   valid + "$AAAA",
		"trailing newline":              valid + "\n",
		"newline inside the salt":       strings.Replace(valid, "cmFtcGFydC1r", "cmFtcGFydC1\nr", 1),
		"CR inside the hash":            strings.Replace(valid, "RvsQw72rf0", "RvsQw7\r2rf0", 1),
		"leading space":                 " " + valid,
		"string of 1 MiB":               valid + strings.Repeat("A", 1<<20),
		"NUL inside":                    strings.Replace(valid, "t=1", "t=1\x00", 1),
		"upper-case algorithm":          strings.Replace(valid, "argon2id", "ARGON2ID", 1),
		"valid but beyond memory bound": strings.Replace(valid, "m=64", "m=4194304", 1),
	}
}()

func TestVerifyRefusesHostileStoredHashes(t *testing.T) {
	ctx := context.Background()
	h := newHasher(fastParams, 4) // bound: 4 × 64 KiB
	ran := countRuns(h)
	for name, s := range hostilePHC {
		t.Run(name, func(t *testing.T) {
			ok, rehash, err := h.Verify(ctx, s, "password")
			if ok || rehash {
				t.Fatalf("Verify = %v, %v; want false, false", ok, rehash)
			}
			assertKind(t, "Verify", err, errs.Invalid)
			if len(s) > 32 && strings.Contains(err.Error(), s[len(s)-16:]) {
				t.Errorf("error echoes the stored hash: %v", err)
			}
			allocated := bytesAllocated(func() { _, _, _ = h.Verify(ctx, s, "password") })
			// A few hundred bytes in practice; the margin absorbs the race
			// detector's bookkeeping. Accepting any of these would cost from
			// 64 KiB to 4 GiB.
			if allocated > 16<<10 {
				t.Errorf("refusing it allocated %d bytes", allocated)
			}
		})
	}
	if n := ran(); n != 0 {
		t.Errorf("argon2 ran %d times on hostile hashes", n)
	}
}

func TestSemaphoreBoundsConcurrentHashing(t *testing.T) {
	p := fastParams
	p.Memory = 2048 // slow enough (a few ms) for the calls to overlap
	h := newHasher(p, 2)
	if got, want := h.MemoryBound(), int64(2*2048*1024); got != want {
		t.Errorf("MemoryBound() = %d, want %d", got, want)
	}
	peak := trackPeak(h)

	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			if _, err := h.Hash(context.Background(), "password"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	ops, mem := peak()
	if ops != 2 {
		t.Errorf("peak concurrent computations = %d, want exactly 2 (the bound, and reached)", ops)
	}
	if mem*1024 > h.MemoryBound() {
		t.Errorf("peak memory %d KiB exceeds the bound %d bytes", mem, h.MemoryBound())
	}
}

func TestSemaphoreCountsTheMemoryOfCostlierStoredHashes(t *testing.T) {
	// The third vector needs m=256 KiB: four slots of a 64 KiB hasher, so
	// while it runs nothing else may.
	v := katVectors[2]
	h := newHasher(fastParams, 4)
	peak := trackPeak(h)

	var wg sync.WaitGroup
	for i := range 12 {
		wg.Go(func() {
			if i%4 == 0 {
				ok, rehash, err := h.Verify(context.Background(), v.phc, v.password)
				if !ok || !rehash || err != nil {
					t.Errorf("Verify = %v, %v, %v; want true, true, nil", ok, rehash, err)
				}
				return
			}
			if _, err := h.Hash(context.Background(), "password"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if _, mem := peak(); mem*1024 > h.MemoryBound() {
		t.Errorf("peak memory %d KiB exceeds the bound %d bytes", mem, h.MemoryBound())
	}
	if n := len(h.slots); n != 0 {
		t.Errorf("%d slots still taken after all calls returned", n)
	}
}

func TestWaitingForASlotRespectsContext(t *testing.T) {
	h := newHasher(fastParams, 4)
	stored := katVectors[2].phc // needs all 4 slots
	ran := countRuns(h)
	// Occupy two slots, as two long computations would.
	h.slots <- struct{}{}
	h.slots <- struct{}{}

	t.Run("deadline while waiting", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, _, err := h.Verify(ctx, stored, "pässwörd")
		assertKind(t, "Verify", err, errs.Unavailable)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("error %v does not wrap context.DeadlineExceeded", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("returned after %v", d)
		}
		if n := len(h.slots); n != 2 {
			t.Errorf("%d slots taken after giving up, want the 2 held before (partial tokens returned)", n)
		}
	})
	t.Run("cancel while waiting", func(t *testing.T) {
		for range 2 { // fill the remaining slots so Hash must wait
			h.slots <- struct{}{}
		}
		defer func() { <-h.slots; <-h.slots }()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() {
			_, err := h.Hash(ctx, "password")
			done <- err
		}()
		time.Sleep(20 * time.Millisecond)
		cancel()
		err := <-done
		assertKind(t, "Hash", err, errs.Unavailable)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("error %v does not wrap context.Canceled", err)
		}
	})
	t.Run("context already ended with slots free", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		for range 20 {
			assertKind(t, "VerifyDummy", h.VerifyDummy(ctx, "password"), errs.Unavailable)
		}
	})
	if n := ran(); n != 0 {
		t.Errorf("argon2 ran %d times without a slot", n)
	}
}

func TestVerifyDummyCostsAsMuchAsARealVerify(t *testing.T) {
	ctx := context.Background()
	// Default parameters except memory: the code path is the same and the
	// smaller cost leaves room for enough runs to take a stable median on a
	// loaded 2-core machine (and under -race, which slows argon2 5×).
	p := DefaultParams()
	p.Memory = 4096
	h := newHasher(p, 2)
	stored, err := h.Hash(ctx, "the real password")
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := parsePHC(h.dummy)
	if err != nil || parsed.params != h.Params() {
		t.Fatalf("dummy hash %v has params %+v, want %+v", err, parsed.params, h.Params())
	}

	runs := 15
	if testing.Short() {
		runs = 5
	}
	// Interleave the two and compare each pair, so that load from elsewhere
	// on the machine, which comes and goes, hits both sides of a ratio alike;
	// the median ratio then ignores the pairs it hit unevenly.
	var ratios []float64
	var real, dummy []time.Duration
	for range runs {
		start := time.Now()
		if ok, _, err := h.Verify(ctx, stored, "a wrong password"); ok || err != nil {
			t.Fatalf("Verify = %v, %v", ok, err)
		}
		r := time.Since(start)
		start = time.Now()
		if err := h.VerifyDummy(ctx, "a wrong password"); err != nil {
			t.Fatal(err)
		}
		d := time.Since(start)
		real, dummy = append(real, r), append(dummy, d)
		ratios = append(ratios, float64(d)/float64(r))
	}
	slices.Sort(ratios)
	ratio := ratios[len(ratios)/2]
	t.Logf("median Verify %v, VerifyDummy %v, median ratio %.2f", median(real), median(dummy), ratio)
	if ratio < 0.5 || ratio > 2 {
		t.Errorf("VerifyDummy takes %.2f× a real Verify; want 0.5×–2×", ratio)
	}
	if err := h.VerifyDummy(ctx, "the real password"); err != nil {
		t.Errorf("VerifyDummy(real password) = %v", err)
	}
}

func TestParamsValidate(t *testing.T) {
	// OWASP's five equally strong argon2id profiles.
	for _, mt := range [][2]uint32{{47104, 1}, {19456, 2}, {12288, 3}, {9216, 4}, {7168, 5}} {
		p := DefaultParams()
		p.Memory, p.Time = mt[0], mt[1]
		if err := p.Validate(); err != nil {
			t.Errorf("OWASP profile m=%d,t=%d: %v", mt[0], mt[1], err)
		}
	}
	weak := DefaultParams()
	weak.Memory, weak.Time = 7168, 4
	err := weak.Validate()
	assertKind(t, "Validate", err, errs.Invalid)
	want := "argon2id parameters are invalid: memory × time must be at least 35840 KiB, the OWASP minimum, e.g. m=19456,t=2 (got m=7168,t=4)"
	if got := errs.SafeMessage(err); got != want {
		t.Errorf("message:\n got %q\nwant %q", got, want)
	}

	err = Params{}.Validate()
	want = "argon2id parameters are invalid: " +
		"time must be between 1 and 100 (got 0); " +
		"threads must be at least 1 (got 0); " +
		"salt length must be between 8 and 64 bytes (got 0); " +
		"key length must be between 16 and 64 bytes (got 0); " +
		"memory must be at least 7168 KiB, the OWASP minimum (got 0); " +
		"memory × time must be at least 35840 KiB, the OWASP minimum, e.g. m=19456,t=2 (got m=0,t=0); " +
		"salt length must be at least 16 bytes for new hashes (got 0)"
	if got := errs.SafeMessage(err); got != want {
		t.Errorf("zero Params message:\n got %q\nwant %q", got, want)
	}
}

func TestNewHasher(t *testing.T) {
	t.Run("panics on parameters below the OWASP minimum", func(t *testing.T) {
		defer func() {
			if recover() == nil {
				t.Error("no panic")
			}
		}()
		NewHasher(fastParams, 1)
	})
	t.Run("defaults to twice the CPUs", func(t *testing.T) {
		h := NewHasher(DefaultParams(), 0)
		if got, want := h.MemoryBound(), int64(runtime.NumCPU()*2)*19456*1024; got != want {
			t.Errorf("MemoryBound() = %d, want %d", got, want)
		}
	})
	t.Run("default parameters are OWASP's", func(t *testing.T) {
		want := Params{Memory: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}
		if got := DefaultParams(); got != want {
			t.Errorf("DefaultParams() = %+v, want %+v", got, want)
		}
	})
}

// countRuns counts argon2 computations on h from now on.
func countRuns(h *Hasher) func() int {
	var mu sync.Mutex
	n := 0
	h.onRun = func(uint32) func() {
		mu.Lock()
		n++
		mu.Unlock()
		return func() {}
	}
	return func() int {
		mu.Lock()
		defer mu.Unlock()
		return n
	}
}

// trackPeak records the most computations, and the most KiB of argon2
// memory, in flight at once on h. Each computation lingers 5 ms after it
// starts so that overlaps are not left to chance.
func trackPeak(h *Hasher) func() (ops int, memKiB int64) {
	var mu sync.Mutex
	var ops, mem, peakOps int
	var peakMem int64
	h.onRun = func(m uint32) func() {
		mu.Lock()
		ops++
		mem += int(m)
		peakOps = max(peakOps, ops)
		peakMem = max(peakMem, int64(mem))
		mu.Unlock()
		time.Sleep(5 * time.Millisecond)
		return func() {
			mu.Lock()
			ops--
			mem -= int(m)
			mu.Unlock()
		}
	}
	return func() (int, int64) {
		mu.Lock()
		defer mu.Unlock()
		return peakOps, peakMem
	}
}

func bytesAllocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func assertKind(t *testing.T, what string, err error, want errs.Kind) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: no error, want %v", what, want)
	}
	if got := errs.KindOf(err); got != want {
		t.Fatalf("%s: kind %v (%v), want %v", what, got, err, want)
	}
}
