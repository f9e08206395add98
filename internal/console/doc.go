// Package console is Samsa's web console: a JSON API under /api/v1/ and a
// browser UI under /ui/, served on the metrics HTTP listener
// (metrics.listener, default 127.0.0.1:9644) next to /metrics.
//
// The console is a Kafka client of its own broker. Every API call goes
// through a franz-go client connected to one of the broker's Kafka
// listeners, so what a console user may see and do is exactly what the same
// principal may do on the Kafka port: the broker's authorizer answers, not
// this package. The package imports nothing of the broker; the server hands
// it the listeners' addresses (Options.Endpoints) once they accept.
//
// Authentication follows the listener the console dials (chooseEndpoint):
// when the broker has a SASL listener offering PLAIN or SCRAM, the API
// requires HTTP Basic authentication and the name and password become the
// SASL credentials of that user's own client; clients are kept in a small
// cache (at most maxSessions, idle ones closed after sessionIdle), keyed by
// name and a hash of the password, and a wrong password is a 401 because
// the broker refused the SASL exchange. Without a SASL listener the console
// dials a PLAINTEXT (or SSL) listener without credentials and asks for
// none, like that listener.
//
// Invariants:
//   - Every handler validates every query parameter (unknown ones too) and
//     body field before it talks to the broker; bad input is a 4xx with a
//     JSON body {"error": "..."}.
//   - Nothing a request reads is unbounded: request bodies are at most
//     maxBodyBytes, the message browser returns at most maxRecords records
//     and reads at most maxFetchBytes per request (the broker's own Fetch
//     limits do the bounding, plus at most one batch beyond, as Kafka
//     returns a first batch larger than the limit).
//   - State-changing requests must carry a JSON body or no body, and a
//     cross-site Origin is refused, so another web page cannot drive the
//     API from a browser (no CSRF).
//   - The UI is static files embedded in the binary (ui/): plain HTML, CSS
//     and JavaScript modules, no build step and nothing fetched from
//     elsewhere at run time. Pages poll the API every two seconds.
package console
