// Package logx owns Rampart's logging: it builds the process's *slog.Logger
// (JSON or text) and puts a redacting handler in front of it, so that no
// secret reaches a log line (requirement DP5). Other packages that must print
// text built from request data (error strings, CLI output) use RedactString.
//
// Two rules apply to every record, its message, and every attribute at any
// depth, including those added with Logger.With and inside groups:
//
//   - By key. An attribute whose key looks secret (IsSecretKey) is written as
//     [REDACTED], whatever its value. Keys are matched case-insensitively on
//     their parts, split on punctuation and camelCase, and read after the
//     name of their group, so "db" + "password" is as secret as "db_password".
//     Unambiguous words are secret anywhere in a key: password, passwd,
//     passphrase, secret, credential, cookie, authorization, csrf, session,
//     signature, apikey, privatekey, bearer, dsn, database_url. Short words
//     (pwd, pass, otp, totp, pin, jwt, sig, sid) are secret as whole parts.
//     The nouns key, token and code are secret when they name the thing
//     itself (api_key, root_key, id_token, refreshToken, recovery_code and a
//     bare "code"), but not after a qualifier that makes them public
//     (public_key, page_token, error_code, status_code, http_code). Any
//     secret word or noun followed by a metadata part describes the secret
//     instead of holding it and is kept: key_id, token_type, otp_enabled.
//     Unknown qualifiers keep the secret reading, so new names fail closed.
//
//   - By shape. Every text value (strings, errors, Stringers, []string, the
//     renderings of other values, resolved LogValuers) and the message are
//     scrubbed with RedactString, which finds Bearer and Basic credentials,
//     JWTs, PEM private keys, age secret keys, Rampart tokens (rpt_, rps_,
//     rpr_, rpi_), URL and DSN passwords, and the values of secret keys
//     written inside text (password=..., ?token=..., "secret":"...",
//     "Authorization: ..." to the end of the line).
//
// Redaction over-hides rather than under-hides: name a log field so that it
// does not read like a secret if its value must be seen.
package logx
