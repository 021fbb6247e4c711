// Package perimeter holds what every HTTPS request passes before it reaches
// a handler: security headers, request ids, body limits and panic recovery.
// (The WAF, rate limits and IP lists join it in later work.)
package perimeter
