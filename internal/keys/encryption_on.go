//go:build !rampart_noencrypt

package keys

// EncryptionDisabled is true only in the benchmark-only build
// (-tags rampart_noencrypt) that measures what encryption costs. Every
// real build encrypts.
const EncryptionDisabled = false
