//go:build rampart_noencrypt

package keys

// EncryptionDisabled: this is the benchmark-only build (-tags
// rampart_noencrypt). Encrypt, Decrypt and the streaming calls pass data
// through unchanged (keys are still looked up, so the cost measured is
// the cipher's alone). Such a binary refuses to open an instance unless
// BENCH_RAMPART_NOENCRYPT=yes-store-data-in-clear is set; never deploy it.
const EncryptionDisabled = true
