// Package console is Rampart's web console: server-rendered html/template
// pages under /console/ for signing in (password, then TOTP or a recovery
// code), the single-use links that identity mails (/invite, /reset,
// /bootstrap), a member's own account (password, two-factor enrolment,
// sessions, personal API tokens), organization administration (members,
// roles, password policy, audit log, collections; each section only with
// its permission) and platform operators' pages (organizations).
//
// The pages call the domain services directly, with the same session
// cookie as the JSON API (httpapi.SessionCookie), so signing in on either
// works on both. Every asset is embedded and served same-origin: one style
// sheet and one small script that only enhances pages which work without
// it (the strict Content-Security-Policy forbids inline script and style).
//
// Forms are protected twice against cross-site request forgery: the
// cross-origin check of net/http (Sec-Fetch-Site / Origin) and a token in a
// hidden field. The token is an HMAC keyed with the session token (or, before
// sign-in, with a random pre-session cookie), so it is per session, needs no
// server state and is the same on every node.
package console
