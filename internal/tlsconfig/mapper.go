package tlsconfig

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// The grammar of ssl.principal.mapping.rules, as Kafka's SslPrincipalMapper
// writes it, with Java's "." (no line terminator) and "\s" spelled out for
// Go's regexp. Go's leftmost-first matching chooses the same matches and
// groups as Java's backtracking for these expressions (they have no
// back-references or look-arounds), so rules are split and parsed as Kafka
// splits and parses them, odd inputs included.
const (
	javaDot    = `[^\n\r\x{85}\x{2028}\x{2029}]`
	javaSpace  = `[ \t\n\x0B\f\r]`
	rulePatter = `(DEFAULT)|RULE:((\\.|[^\\/])*)/((\\.|[^\\/])*)/([LU]?)` + javaDot + `*?|(` + javaDot + `*?)`
)

var (
	ruleSplitter = regexp.MustCompile(javaSpace + `*(` + rulePatter + `)` + javaSpace + `*(,` + javaSpace + `*|$)`)
	ruleParser   = regexp.MustCompile(`^(?:` + rulePatter + `)`)
)

// Mapper maps a client certificate's distinguished name to a user name
// with ssl.principal.mapping.rules, as Kafka's SslPrincipalMapper does.
type Mapper struct {
	rules []rule
}

type rule struct {
	isDefault   bool
	pattern     string         // as written, for String
	replacement string         // as written, for String
	re          *regexp.Regexp // the pattern, for replacing
	whole       *regexp.Regexp // the pattern anchored at both ends: must match the whole name
	template    []piece        // the replacement, parsed
	lower       bool
	upper       bool
}

// piece is a part of a replacement: literal text, or a group's text.
type piece struct {
	text  string
	group int // -1 for literal text
}

// ErrNoMatchingRule is returned by Name when no rule applies.
var ErrNoMatchingRule = errors.New("no ssl.principal.mapping.rules rule applies")

// ParseMappingRules parses ssl.principal.mapping.rules, Kafka's syntax: a
// comma-separated list of DEFAULT and RULE:pattern/replacement/[LU], tried
// in order. pattern is a regular expression that must match the whole
// distinguished name; replacement may use $1, $2, ... (and ${name}) for its
// groups, as Java's String.replaceAll; L and U turn the result to lower or
// upper case; DEFAULT is the distinguished name unchanged. "\" escapes a
// "/" or "\" in a pattern or replacement. Splitting follows Kafka's
// expression to the letter, so text it would skip is skipped; empty rules
// are ignored; an empty string is no rules at all (every name fails).
//
// Patterns are Go regular expressions (RE2): Java's back-references,
// look-arounds and possessive quantifiers are refused with an error, as is
// a replacement Java would refuse when it is applied (an illegal group
// reference, a trailing backslash).
func ParseMappingRules(rules string) (*Mapper, error) {
	trimmed := strings.TrimFunc(rules, func(r rune) bool { return r <= ' ' }) // Java's String.trim
	m := &Mapper{}
	for _, split := range ruleSplitter.FindAllStringSubmatch(trimmed, -1) {
		text := split[1]
		loc := ruleParser.FindStringSubmatchIndex(text)
		if loc == nil {
			return nil, fmt.Errorf("ssl.principal.mapping.rules: invalid rule %q", text)
		}
		if loc[1] != len(text) {
			return nil, fmt.Errorf("ssl.principal.mapping.rules: invalid rule %q: unexpected %q", text, text[loc[1]:])
		}
		group := func(i int) (string, bool) {
			if loc[2*i] < 0 {
				return "", false
			}
			return text[loc[2*i]:loc[2*i+1]], true
		}
		if _, ok := group(1); ok {
			m.rules = append(m.rules, rule{isDefault: true})
			continue
		}
		pattern, ok := group(2)
		if !ok {
			continue // an empty rule
		}
		replacement, _ := group(4)
		flag, _ := group(6)
		r, err := newRule(pattern, replacement, flag)
		if err != nil {
			return nil, fmt.Errorf("ssl.principal.mapping.rules: rule %q: %w", text, err)
		}
		m.rules = append(m.rules, r)
	}
	return m, nil
}

func newRule(pattern, replacement, flag string) (rule, error) {
	re, err := regexp.Compile(pattern)
	if err != nil {
		return rule{}, fmt.Errorf("pattern: %w", err)
	}
	whole, err := regexp.Compile(`\A(?:` + pattern + `)\z`)
	if err != nil {
		return rule{}, fmt.Errorf("pattern: %w", err)
	}
	template, err := parseReplacement(escapeLiteralBackReferences(replacement, re.NumSubexp()), re)
	if err != nil {
		return rule{}, fmt.Errorf("replacement %q: %w", replacement, err)
	}
	return rule{
		pattern: pattern, replacement: replacement,
		re: re, whole: whole, template: template,
		lower: flag == "L", upper: flag == "U",
	}, nil
}

var backReference = regexp.MustCompile(`\$(\d+)`)

// escapeLiteralBackReferences makes $n in a replacement literal text when
// the pattern has fewer than n groups (after Java's own reading of $12 as
// $1 followed by "2" when there is no group 12), as Kafka does before
// replacing. It follows Kafka's code step by step, including that the
// positions it inserts at are those of the unmodified replacement.
func escapeLiteralBackReferences(unescaped string, groups int) string {
	if groups == 0 {
		return unescaped
	}
	value := unescaped
	for _, m := range backReference.FindAllStringSubmatchIndex(unescaped, -1) {
		num := unescaped[m[2]:m[3]]
		if strings.HasPrefix(num, "0") {
			continue
		}
		idx, err := strconv.Atoi(num)
		if err != nil {
			idx = int(^uint(0) >> 1) // more digits than an int: no such group
		}
		for idx > groups && idx >= 10 {
			idx /= 10
		}
		if idx > groups {
			at := m[2] - 1 // the "$", in the unmodified replacement
			if at > len(value) {
				at = len(value)
			}
			value = value[:at] + `\` + value[at:]
		}
	}
	return value
}

// parseReplacement reads a replacement as Java's Matcher.appendReplacement
// does: "\" quotes the next character, $n is group n (digits taken while
// the number stays a group), ${name} a named group.
func parseReplacement(s string, re *regexp.Regexp) ([]piece, error) {
	var out []piece
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			out = append(out, piece{text: lit.String(), group: -1})
			lit.Reset()
		}
	}
	groups := re.NumSubexp()
	for i := 0; i < len(s); {
		switch c := s[i]; c {
		case '\\':
			i++
			if i == len(s) {
				return nil, errors.New("character to be escaped is missing")
			}
			lit.WriteByte(s[i])
			i++
		case '$':
			i++
			if i == len(s) {
				return nil, errors.New("illegal group reference: group index is missing")
			}
			var ref int
			if s[i] == '{' {
				end := strings.IndexByte(s[i:], '}')
				if end < 0 {
					return nil, errors.New("named capturing group is missing trailing '}'")
				}
				name := s[i+1 : i+end]
				if name == "" {
					return nil, errors.New("named capturing group has 0 length name")
				}
				ref = re.SubexpIndex(name)
				if ref < 0 {
					return nil, fmt.Errorf("no group with name {%s}", name)
				}
				i += end + 1
			} else {
				if s[i] < '0' || s[i] > '9' {
					return nil, errors.New("illegal group reference")
				}
				ref = int(s[i] - '0')
				i++
				for i < len(s) && s[i] >= '0' && s[i] <= '9' {
					next := ref*10 + int(s[i]-'0')
					if next > groups {
						break
					}
					ref = next
					i++
				}
				if ref > groups {
					return nil, fmt.Errorf("no group %d", ref)
				}
			}
			flush()
			out = append(out, piece{group: ref})
		default:
			lit.WriteByte(c)
			i++
		}
	}
	flush()
	return out, nil
}

// Name maps a distinguished name (as DistinguishedName prints it) with the
// first rule that applies; ErrNoMatchingRule when none does.
func (m *Mapper) Name(distinguishedName string) (string, error) {
	for _, r := range m.rules {
		if name, ok := r.apply(distinguishedName); ok {
			return name, nil
		}
	}
	return "", fmt.Errorf("%w to %q (rules %s)", ErrNoMatchingRule, distinguishedName, m)
}

// apply is Kafka's Rule.apply: DEFAULT gives the name; a RULE whose pattern
// matches the whole name gives every match replaced (String.replaceAll),
// then lower or upper case.
//
// One corner differs from Java: Java's replaceAll also replaces an empty
// match right after a previous match (so ".*" replaces "abc" twice, once
// as "abc" and once as the empty string at its end), Go's does not; only a
// pattern that can match the empty string, with a replacement that is not
// made of its groups alone, sees the difference.
func (r rule) apply(dn string) (string, bool) {
	if r.isDefault {
		return dn, true
	}
	if !r.whole.MatchString(dn) {
		return "", false
	}
	var b strings.Builder
	last := 0
	for _, m := range r.re.FindAllStringSubmatchIndex(dn, -1) {
		b.WriteString(dn[last:m[0]])
		for _, p := range r.template {
			if p.group < 0 {
				b.WriteString(p.text)
			} else if m[2*p.group] >= 0 {
				b.WriteString(dn[m[2*p.group]:m[2*p.group+1]])
			}
		}
		last = m[1]
	}
	b.WriteString(dn[last:])
	out := b.String()
	switch {
	case r.lower:
		out = strings.ToLower(out)
	case r.upper:
		out = strings.ToUpper(out)
	}
	return out, true
}

// String lists the rules as Kafka's SslPrincipalMapper.toString does,
// e.g. "[RULE:^CN=(.*?),OU=.*$/$1/L, DEFAULT]".
func (m *Mapper) String() string {
	parts := make([]string, len(m.rules))
	for i, r := range m.rules {
		if r.isDefault {
			parts[i] = "DEFAULT"
			continue
		}
		s := "RULE:" + r.pattern + "/" + r.replacement
		if r.lower {
			s += "/L"
		} else if r.upper {
			s += "/U"
		}
		parts[i] = s
	}
	return "[" + strings.Join(parts, ", ") + "]"
}
