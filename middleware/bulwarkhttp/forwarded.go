package bulwarkhttp

import (
	"net/netip"
	"strings"
)

// The forwarding headers are read from the right, where the proxies
// nearest the server appended to them: every hop left of an untrusted one
// could have been written by anyone.

// appendXForwardedFor appends the hops of X-Forwarded-For field lines, left
// to right, to dst. Each hop is a node as parseNode reads it; an empty
// element is kept as an empty hop, which parseNode refuses.
func appendXForwardedFor(dst []string, lines []string) []string {
	for _, line := range lines {
		for {
			i := strings.IndexByte(line, ',')
			if i < 0 {
				dst = append(dst, trimOWS(line))
				break
			}
			dst = append(dst, trimOWS(line[:i]))
			line = line[i+1:]
		}
	}
	return dst
}

// appendForwarded appends the "for" node of each element of Forwarded
// field lines (RFC 7239), left to right, to dst; an element without one
// adds an empty hop. A quoted value is returned without its quotes. It
// reports false, and the hops so far, if a line does not follow the
// grammar: then no hop of it can be believed.
func appendForwarded(dst []string, lines []string) ([]string, bool) {
	for _, line := range lines {
		var ok bool
		if dst, ok = appendForwardedLine(dst, line); !ok {
			return dst, false
		}
	}
	return dst, true
}

// appendForwardedLine parses one field line:
//
//	Forwarded         = 1#forwarded-element
//	forwarded-element = [ forwarded-pair ] *( ";" [ forwarded-pair ] )
//	forwarded-pair    = token "=" value
//	value             = token / quoted-string
//
// with optional whitespace around the separators, as sent in practice.
func appendForwardedLine(dst []string, s string) ([]string, bool) {
	forNode, seen := "", false // the element's for= value
	i := 0
	for {
		i = skipOWS(s, i)
		if i == len(s) || s[i] == ',' || s[i] == ';' {
			// An empty pair.
		} else {
			j := i
			for j < len(s) && isTokenChar(s[j]) {
				j++
			}
			if j == i || j == len(s) || s[j] != '=' {
				return dst, false
			}
			name := s[i:j]
			j++
			var value string
			if j < len(s) && s[j] == '"' {
				end, escaped, ok := quotedEnd(s, j)
				if !ok {
					return dst, false
				}
				value = s[j+1 : end-1]
				if escaped {
					// A node with a quoted-pair is no address: keep it as
					// a hop that parseNode refuses, without allocating
					// an unescaped copy.
					value = "\\"
				}
				j = end
			} else {
				k := j
				for k < len(s) && isTokenChar(s[k]) {
					k++
				}
				if k == j {
					return dst, false
				}
				value, j = s[j:k], k
			}
			if strings.EqualFold(name, "for") {
				if seen {
					return dst, false // a parameter appears once per element
				}
				forNode, seen = value, true
			}
			i = skipOWS(s, j)
		}
		if i == len(s) {
			return append(dst, forNode), true
		}
		switch s[i] {
		case ';':
			i++
		case ',':
			dst = append(dst, forNode)
			forNode, seen = "", false
			i++
		default:
			return dst, false
		}
	}
}

// quotedEnd returns the index just past the quoted-string starting at
// s[i] == '"', and whether it held a quoted-pair.
func quotedEnd(s string, i int) (end int, escaped, ok bool) {
	for j := i + 1; j < len(s); j++ {
		switch c := s[j]; {
		case c == '"':
			return j + 1, escaped, true
		case c == '\\':
			if j+1 == len(s) {
				return 0, false, false
			}
			escaped = true
			j++
		case c < 0x20 && c != '\t', c == 0x7f:
			return 0, false, false
		}
	}
	return 0, false, false
}

func skipOWS(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	return i
}

// isTokenChar reports whether c is a tchar of RFC 9110.
func isTokenChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// parseNode reads the address of one hop: an IPv4 or IPv6 address, with or
// without a port, IPv6 in brackets when it has one ("[2001:db8::1]:443"),
// as X-Forwarded-For and Forwarded write them. IPv4-mapped IPv6 addresses
// become IPv4 and zones are dropped, so that one client has one key. It
// reports false for anything else: "unknown", an obfuscated identifier
// ("_hidden"), garbage.
func parseNode(s string) (netip.Addr, bool) {
	var host string
	switch {
	case strings.HasPrefix(s, "["):
		end := strings.IndexByte(s, ']')
		if end < 0 || !validPort(s[end+1:]) {
			return netip.Addr{}, false
		}
		host = s[1:end]
	case strings.Count(s, ":") == 1:
		i := strings.IndexByte(s, ':')
		if !validPort(s[i:]) {
			return netip.Addr{}, false
		}
		host = s[:i]
	default:
		host = s // a bare address, IPv6 included
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap().WithZone(""), true
}

// validPort reports whether s is empty or ":" followed by a port: digits,
// or an obfuscated port ("_abc") as RFC 7239 allows.
func validPort(s string) bool {
	if s == "" {
		return true
	}
	if s[0] != ':' || len(s) == 1 {
		return false
	}
	p := s[1:]
	if p[0] == '_' {
		for i := 1; i < len(p); i++ {
			if c := p[i]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
				return false
			}
		}
		return true
	}
	return isDigits(p) && len(p) <= 5
}
