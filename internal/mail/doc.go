// Package mail sends Rampart's transactional e-mail: password-reset links,
// invitations and similar one-off messages that carry a secret link.
//
// A caller builds a Message and hands it to a Sender. Two senders exist:
//
//   - OutboxSender (NewOutbox), the embedded default, writes each message as
//     an RFC 5322 .eml file into a private directory (<data>/outbox/) and
//     logs where it went, so a newcomer can follow a reset or invite flow
//     without a mail server. The file holds the link; the log line does not.
//
//   - SMTPSender (NewSMTP) delivers through an SMTP submission server. By
//     default it upgrades the connection with STARTTLS whenever the server
//     offers it and refuses to authenticate unless the connection is
//     encrypted and the certificate verified, so a password never crosses the
//     network in clear text, not even to a server that stops offering
//     STARTTLS (a downgrade by an attacker in the middle). Implicit TLS (port
//     465) and plain text to a local relay are the other modes.
//
// The secret link travels in Message.SecretURL. It is written into the body
// and nowhere else: no log line, no error message, no file name carries it.
// Senders log the recipient, kind and subject; they never log the body, the
// link or the SMTP password.
//
// Every message is checked before any I/O: addresses must parse with
// net/mail, header fields must not hold CR, LF or other control characters
// (header injection), Kind must be a short snake_case word (it becomes part
// of a file name), and sizes are bounded. A message that breaks a rule is
// refused with an errs.Invalid error listing every broken rule. The body is
// sent quoted-printable and the subject RFC 2047-encoded when it is not
// plain ASCII, so what goes on the wire is 7-bit clean.
//
// Delivery failures are errs.Unavailable; a missing STARTTLS where
// credentials must be protected also matches ErrTLSRequired.
package mail
