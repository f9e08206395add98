package tlsconfig

import (
	"errors"
	"strings"
	"testing"
)

// The cases below are those of Kafka's SslPrincipalMapperTest, so rules
// behave as on a Kafka broker.

func TestMappingRulesValid(t *testing.T) {
	for _, rules := range []string{
		"DEFAULT",
		"RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/",
		"RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/L, DEFAULT",
		"RULE:^CN=(.*?),OU=(.*?),O=(.*?),L=(.*?),ST=(.*?),C=(.*?)$/$1@$2/",
		"RULE:^.*[Cc][Nn]=([a-zA-Z0-9.]*).*$/$1/L",
		"RULE:^cn=(.?),ou=(.?),dc=(.?),dc=(.?)$/$1@$2/U",
		"RULE:^CN=([^,ADEFLTU,]+)(,.*|$)/$1/",
		"RULE:^CN=([^,DEFAULT,]+)(,.*|$)/$1/",
	} {
		if _, err := ParseMappingRules(rules); err != nil {
			t.Errorf("%q: %v", rules, err)
		}
	}
}

func TestMappingRulesInvalid(t *testing.T) {
	for _, rules := range []string{
		"default",
		"DEFAUL",
		"DEFAULT/L",
		"DEFAULT/U",
		"RULE:CN=(.*?),OU=ServiceUsers.*/$1",
		"rule:^CN=(.*?),OU=ServiceUsers.*$/$1/",
		"RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/L/U",
		"RULE:^CN=(.*?),OU=ServiceUsers.*$/L",
		"RULE:^CN=(.*?),OU=ServiceUsers.*$/U",
		"RULE:^CN=(.*?),OU=ServiceUsers.*$/LU",
		// Not in Kafka's test: Java patterns RE2 does not have, and
		// replacements Java refuses when applying them.
		"RULE:^CN=(\\w+)\\1$/$1/",
		"RULE:^CN=(?=a).*$/x/",
		"RULE:^CN=(.*)$/$x/",
		"RULE:^CN=(.*)$/${nope}/",
		"RULE:^CN=(.*)$/a$/",
		"RULE:^CN=[/x/",
	} {
		if m, err := ParseMappingRules(rules); err == nil {
			t.Errorf("%q: accepted as %s", rules, m)
		} else if !strings.Contains(err.Error(), "ssl.principal.mapping.rules") {
			t.Errorf("%q: error %q does not name the setting", rules, err)
		}
	}
}

func TestMappingRulesMapping(t *testing.T) {
	m, err := ParseMappingRules(strings.Join([]string{
		"RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/L",
		"RULE:^CN=(.*?),OU=(.*?),O=(.*?),L=(.*?),ST=(.*?),C=(.*?)$/$1@$2/L",
		"RULE:^cn=(.*?),ou=(.*?),dc=(.*?),dc=(.*?)$/$1@$2/U",
		"RULE:^.*[Cc][Nn]=([a-zA-Z0-9.]*).*$/$1/U",
		"DEFAULT",
	}, ", "))
	if err != nil {
		t.Fatal(err)
	}
	for dn, want := range map[string]string{
		"CN=Duke,OU=ServiceUsers,O=Org,C=US":        "duke",
		"CN=Duke,OU=SME,O=mycp,L=Fulton,ST=MD,C=US": "duke@sme",
		"cn=duke,ou=sme,dc=mycp,dc=com":             "DUKE@SME",
		"cN=duke,OU=JavaSoft,O=Sun Microsystems":    "DUKE",
		"OU=JavaSoft,O=Sun Microsystems,C=US":       "OU=JavaSoft,O=Sun Microsystems,C=US",
	} {
		got, err := m.Name(dn)
		if err != nil || got != want {
			t.Errorf("%q: %q, %v; want %q", dn, got, err, want)
		}
	}
}

func TestMappingRulesSplitting(t *testing.T) {
	for rules, want := range map[string]string{
		"":                               "[]",
		"DEFAULT":                        "[DEFAULT]",
		"RULE://":                        "[RULE:/]",
		"RULE:/.*/":                      "[RULE:/.*]",
		"RULE:/.*/L":                     "[RULE:/.*/L]",
		"RULE://,DEFAULT":                "[RULE:/, DEFAULT]",
		"  RULE:// ,  DEFAULT  ":         "[RULE:/, DEFAULT]",
		"  RULE:   /     / ,  DEFAULT  ": "[RULE:   /     , DEFAULT]",
		"  RULE:  /     /U   ,DEFAULT  ": "[RULE:  /     /U, DEFAULT]",
		"  RULE:([A-Z]*)/$1/U   ,RULE:([a-z]+)/$1/,   DEFAULT  ": "[RULE:([A-Z]*)/$1/U, RULE:([a-z]+)/$1, DEFAULT]",
		// empty rules are ignored
		",   , , ,      , , ,   ":                    "[]",
		",,RULE://,,,DEFAULT,,":                      "[RULE:/, DEFAULT]",
		",  , RULE: /   /    ,,,   DEFAULT, ,   ":    "[RULE: /   , DEFAULT]",
		"     ,  , RULE:   /  /U    ,,  ,DEFAULT, ,": "[RULE:   /  /U, DEFAULT]",
		// escape sequences
		`RULE:\/\\\(\)\n\t/\/\//`:         `[RULE:\/\\\(\)\n\t/\/\/]`,
		`RULE:\**\/+/*/L,RULE:\/*\**/**/`: `[RULE:\**\/+/*/L, RULE:\/*\**/**]`,
		// rules rule
		`RULE:,RULE:,/,RULE:,\//U,RULE:,/RULE:,/,RULE:,RULE:,/L,RULE:,/L,RULE:, DEFAULT, /DEFAULT/,DEFAULT`: `[RULE:,RULE:,/,RULE:,\//U, RULE:,/RULE:,, RULE:,RULE:,/L,RULE:,/L, RULE:, DEFAULT, /DEFAULT, DEFAULT]`,
	} {
		m, err := ParseMappingRules(rules)
		if err != nil {
			t.Errorf("%q: %v", rules, err)
			continue
		}
		if got := m.String(); got != want {
			t.Errorf("%q: split as %s, want %s", rules, got, want)
		}
	}
}

func TestMappingRulesCommaWithWhitespace(t *testing.T) {
	m, err := ParseMappingRules(`RULE:^CN=((\\, *|\w)+)(,.*|$)/$1/,DEFAULT`)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := m.Name(`CN=Tkac\, Adam,OU=ITZ,DC=geodis,DC=cz`); err != nil || got != `Tkac\, Adam` {
		t.Errorf("%q, %v", got, err)
	}
}

func TestMappingRulesReplacement(t *testing.T) {
	for _, tc := range []struct{ rules, dn, want string }{
		// $n beyond the groups is literal text (Kafka's escapeLiteralBackReferences) ...
		{"RULE:^CN=(.*?),OU=(.*?),O=(.*?)$/$1@$4/", "CN=a,OU=b,O=c", "a@$4"},
		// ... and $12 with one group is group 1 and "2", as Java reads it.
		{"RULE:^CN=(.*?),.*$/$12/", "CN=a,O=c", "a2"},
		{"RULE:^CN=(.*?),OU=(.*?),.*$/$21/", "CN=a,OU=b,O=c", "b1"},
		// $0 is the whole match; \$ a literal dollar; named groups.
		{"RULE:^CN=(.*?),.*$/[$0]/", "CN=a,O=c", "[CN=a,O=c]"},
		{`RULE:^CN=(.*?),.*$/\$$1/`, "CN=a,O=c", "$a"},
		{"RULE:^CN=(?<user>[^,]*),.*$/${user}/U", "CN=a,O=c", "A"},
		// Without groups the replacement is used as written.
		{"RULE:^CN=x,.*$/fixed/", "CN=x,O=c", "fixed"},
		// An unmatched group gives nothing.
		{"RULE:^CN=(a)?(.*?),.*$/[$1][$2]/", "CN=b,O=c", "[][b]"},
		// The pattern must match the whole name; then every match is
		// replaced (String.replaceAll).
		{"RULE:O=c/x/,DEFAULT", "CN=a,O=c", "CN=a,O=c"},
		{"RULE:a|aa/_/", "aa", "__"},
		// $2 with one group is literal text too.
		{"RULE:^CN=(.*)$/$2/", "CN=a", "$2"},
		{"RULE:(.*)/$1/", "CN=a", "CN=a"},
	} {
		m, err := ParseMappingRules(tc.rules)
		if err != nil {
			t.Errorf("%q: %v", tc.rules, err)
			continue
		}
		if got, err := m.Name(tc.dn); err != nil || got != tc.want {
			t.Errorf("%q on %q: %q, %v; want %q", tc.rules, tc.dn, got, err, tc.want)
		}
	}
}

func TestMappingNoRuleApplies(t *testing.T) {
	for _, rules := range []string{"", " , ", "RULE:^CN=(.*?),OU=eng$/$1/"} {
		m, err := ParseMappingRules(rules)
		if err != nil {
			t.Fatal(err)
		}
		if name, err := m.Name("CN=bob,OU=ops"); !errors.Is(err, ErrNoMatchingRule) {
			t.Errorf("%q: %q, %v; want ErrNoMatchingRule", rules, name, err)
		}
	}
}

func FuzzParseMappingRules(f *testing.F) {
	for _, s := range []string{
		"DEFAULT",
		"RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/L, DEFAULT",
		`RULE:,RULE:,/,RULE:,\//U,RULE:,/RULE:,/,RULE:,RULE:,/L,RULE:,/L,RULE:, DEFAULT, /DEFAULT/,DEFAULT`,
		`RULE:^CN=((\\, *|\w)+)(,.*|$)/$1/,DEFAULT`,
		"RULE:^CN=(.*?),OU=(.*?),O=(.*?)$/$1@$4$12${x}\\/",
		"RULE:(.*)/$1/U,RULE:/\\",
	} {
		f.Add(s, "CN=alice,OU=eng,O=Acme,C=US")
	}
	f.Fuzz(func(t *testing.T, rules, dn string) {
		m, err := ParseMappingRules(rules)
		if err != nil {
			if m != nil {
				t.Fatal("a mapper and an error")
			}
			return
		}
		_ = m.String()
		if _, err := m.Name(dn); err != nil && !errors.Is(err, ErrNoMatchingRule) {
			t.Fatalf("Name: unexpected error %v", err)
		}
	})
}
