package acl

import (
	"net/netip"
	"strings"
)

// Config is the authorizer's static configuration.
type Config struct {
	// SuperUsers are principals allowed everything, whatever the ACLs say
	// (super.users).
	SuperUsers []string
	// AllowIfNoACL allows an operation on a resource that no ACL applies
	// to at all (allow.everyone.if.no.acl.found).
	AllowIfNoACL bool
}

// ParseSuperUsers splits super.users: principals separated by semicolons,
// blanks ignored, as Kafka reads it.
func ParseSuperUsers(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ";") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Rule says why Decide decided as it did (Kafka's MatchingRule).
type Rule int8

// Rules.
const (
	// RuleDefault: no ACL applies to the resource at all; the result is
	// allow.everyone.if.no.acl.found.
	RuleDefault Rule = iota
	// RuleSuperUser: the principal is in super.users.
	RuleSuperUser
	// RuleAllow: an ALLOW ACL matched and no DENY ACL did.
	RuleAllow
	// RuleDeny: a DENY ACL matched.
	RuleDeny
	// RuleNoAllow: ACLs apply to the resource, but none allows this
	// principal, host and operation.
	RuleNoAllow
)

// String names the rule as Kafka's audit log does.
func (r Rule) String() string {
	switch r {
	case RuleSuperUser:
		return "SuperUser"
	case RuleAllow:
		return "MatchingAllowAcl"
	case RuleDeny:
		return "MatchingDenyAcl"
	case RuleNoAllow:
		return "NoMatchingAllowAcl"
	}
	return "Default"
}

// Decision is the result of Decide.
type Decision struct {
	Allowed bool
	Rule    Rule
}

// Authorizer decides with Kafka's StandardAuthorizer semantics over an
// immutable set of bindings. It is never changed after New, so any number
// of goroutines use it without locks; a change of ACLs builds a new one.
type Authorizer struct {
	super       map[string]struct{}
	allowIfNone bool
	n           int
	// hostSpecific: some binding names a host other than "*"; callers
	// that must work out the client's address can skip it otherwise.
	hostSpecific bool
	types        [ResourceUser + 1]*typeIndex
}

// typeIndex holds the bindings of one resource type.
type typeIndex struct {
	literal  map[string]*group // LITERAL patterns other than "*"
	wildcard *group            // the LITERAL pattern "*"
	// PREFIXED patterns by the hash of the prefix (prefixHash), and which
	// prefix lengths exist, so a name's prefixes are looked up in one pass
	// over it.
	prefixed map[uint64][]*prefixGroup
	lens     []bool // lens[l]: some prefix has length l
	all      []Binding
}

type prefixGroup struct {
	prefix string
	g      group
}

// group holds the entries of one resource pattern, by principal.
type group struct {
	byPrincipal map[string]*aces
	anyone      *aces // User:*
}

// aces are one principal's entries on one pattern as bit masks of the
// operations they allow or deny: for any host, and per host.
type aces struct {
	allow, deny uint32
	hosts       []hostACE
}

type hostACE struct {
	host        string
	allow, deny uint32
}

const allOps = ^uint32(0)

func bit(op Operation) uint32 { return 1 << uint(op) }

// allowMask is what an ALLOW entry of op covers: READ, WRITE, DELETE and
// ALTER imply DESCRIBE, ALTER_CONFIGS implies DESCRIBE_CONFIGS, ALL covers
// everything. DENY entries imply nothing (denyMask).
func allowMask(op Operation) uint32 {
	switch op {
	case OpAll:
		return allOps
	case OpRead, OpWrite, OpDelete, OpAlter:
		return bit(op) | bit(OpDescribe)
	case OpAlterConfigs:
		return bit(op) | bit(OpDescribeConfigs)
	}
	return bit(op)
}

func denyMask(op Operation) uint32 {
	if op == OpAll {
		return allOps
	}
	return bit(op)
}

// CanonicalHost returns an IP address in one spelling (IPv4-mapped IPv6
// addresses as IPv4, IPv6 compressed), so that an ACL's host and a client's
// address compare equal however they were written ("::1" and Java's
// "0:0:0:0:0:0:0:1"). Anything else is returned as is.
func CanonicalHost(h string) string {
	if a, err := netip.ParseAddr(h); err == nil {
		return a.Unmap().String()
	}
	return h
}

// New builds an authorizer over bindings. Bindings that do not validate
// are ignored (the metadata image only holds valid ones).
func New(cfg Config, bindings []Binding) *Authorizer {
	a := &Authorizer{super: map[string]struct{}{}, allowIfNone: cfg.AllowIfNoACL}
	for _, p := range cfg.SuperUsers {
		a.super[p] = struct{}{}
	}
	for _, b := range bindings {
		if b.Validate() != nil {
			continue
		}
		a.add(b)
	}
	return a
}

func (a *Authorizer) add(b Binding) {
	ti := a.types[b.ResourceType]
	if ti == nil {
		ti = &typeIndex{literal: map[string]*group{}, prefixed: map[uint64][]*prefixGroup{}}
		a.types[b.ResourceType] = ti
	}
	ti.all = append(ti.all, b)
	var g *group
	switch {
	case b.PatternType == PatternLiteral && b.Name == Wildcard:
		if ti.wildcard == nil {
			ti.wildcard = &group{}
		}
		g = ti.wildcard
	case b.PatternType == PatternLiteral:
		if g = ti.literal[b.Name]; g == nil {
			g = &group{}
			ti.literal[b.Name] = g
		}
	default:
		h := prefixHash(b.Name)
		for _, pg := range ti.prefixed[h] {
			if pg.prefix == b.Name {
				g = &pg.g
				break
			}
		}
		if g == nil {
			pg := &prefixGroup{prefix: b.Name}
			ti.prefixed[h] = append(ti.prefixed[h], pg)
			g = &pg.g
			for len(ti.lens) <= len(b.Name) {
				ti.lens = append(ti.lens, false)
			}
			ti.lens[len(b.Name)] = true
		}
	}
	var e *aces
	if b.Principal == WildcardPrincipal {
		if g.anyone == nil {
			g.anyone = &aces{}
		}
		e = g.anyone
	} else {
		if g.byPrincipal == nil {
			g.byPrincipal = map[string]*aces{}
		}
		if e = g.byPrincipal[b.Principal]; e == nil {
			e = &aces{}
			g.byPrincipal[b.Principal] = e
		}
	}
	var allow, deny uint32
	if b.Permission == Allow {
		allow = allowMask(b.Operation)
	} else {
		deny = denyMask(b.Operation)
	}
	if b.Host == Wildcard {
		e.allow |= allow
		e.deny |= deny
	} else {
		a.hostSpecific = true
		host := CanonicalHost(b.Host)
		found := false
		for i := range e.hosts {
			if e.hosts[i].host == host {
				e.hosts[i].allow |= allow
				e.hosts[i].deny |= deny
				found = true
			}
		}
		if !found {
			e.hosts = append(e.hosts, hostACE{host, allow, deny})
		}
	}
	a.n++
}

// The FNV-1a hash, computed byte by byte so that every prefix of a name
// gets its hash in one pass.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func prefixHash(s string) uint64 {
	h := uint64(fnvOffset)
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * fnvPrime
	}
	return h
}

// Len is the number of bindings.
func (a *Authorizer) Len() int { return a.n }

// NeedsHost reports whether any binding names a specific host. If none
// does, Authorize ignores its host argument and callers may pass "".
func (a *Authorizer) NeedsHost() bool { return a.hostSpecific }

// IsSuperUser reports whether principal is in super.users.
func (a *Authorizer) IsSuperUser(principal string) bool {
	_, ok := a.super[principal]
	return ok
}

// Authorize reports whether principal, connected from host (an IP
// address, in CanonicalHost's spelling), may perform op on the resource
// of type rt named name. See Decide.
func (a *Authorizer) Authorize(principal, host string, op Operation, rt ResourceType, name string) bool {
	return a.Decide(principal, host, op, rt, name).Allowed
}

// Decide is Kafka's StandardAuthorizer:
//   - super users are allowed everything;
//   - the ACLs that apply to the resource are the LITERAL ones of its
//     name, the LITERAL ones named "*", and the PREFIXED ones whose name
//     the resource's name starts with;
//   - among those, an entry matches if its principal is the principal or
//     User:*, its host is the host or "*", and its operation is op or ALL;
//     an ALLOW entry of READ, WRITE, DELETE or ALTER also matches
//     DESCRIBE, one of ALTER_CONFIGS also DESCRIBE_CONFIGS;
//   - a matching DENY entry denies, whatever else matches; otherwise a
//     matching ALLOW entry allows;
//   - if ACLs apply to the resource but none matches, the answer is no;
//     if no ACL applies to it at all, it is allow.everyone.if.no.acl.found.
func (a *Authorizer) Decide(principal, host string, op Operation, rt ResourceType, name string) Decision {
	if len(a.super) > 0 {
		if _, ok := a.super[principal]; ok {
			return Decision{true, RuleSuperUser}
		}
	}
	var ti *typeIndex
	if rt >= 0 && int(rt) < len(a.types) {
		ti = a.types[rt]
	}
	if ti == nil || op < 0 || op > maxOp {
		return Decision{a.allowIfNone, RuleDefault}
	}
	m := bit(op)
	found, allowed := false, false
	if g := ti.literal[name]; g != nil {
		found = true
		switch g.match(principal, host, m) {
		case Deny:
			return Decision{false, RuleDeny}
		case Allow:
			allowed = true
		}
	}
	if g := ti.wildcard; g != nil {
		found = true
		switch g.match(principal, host, m) {
		case Deny:
			return Decision{false, RuleDeny}
		case Allow:
			allowed = true
		}
	}
	if len(ti.lens) > 0 {
		h := uint64(fnvOffset)
		n := min(len(name), len(ti.lens)-1)
		for i := 0; i < n; i++ {
			h = (h ^ uint64(name[i])) * fnvPrime
			if !ti.lens[i+1] {
				continue
			}
			for _, pg := range ti.prefixed[h] {
				if pg.prefix != name[:i+1] {
					continue
				}
				found = true
				switch pg.g.match(principal, host, m) {
				case Deny:
					return Decision{false, RuleDeny}
				case Allow:
					allowed = true
				}
			}
		}
	}
	switch {
	case allowed:
		return Decision{true, RuleAllow}
	case found:
		return Decision{false, RuleNoAllow}
	}
	return Decision{a.allowIfNone, RuleDefault}
}

// match returns Deny if an entry of the group denies m to principal from
// host, Allow if one allows it, and PermissionUnknown otherwise.
func (g *group) match(principal, host string, m uint32) Permission {
	res := PermissionUnknown
	for _, e := range [2]*aces{g.byPrincipal[principal], g.anyone} {
		if e == nil {
			continue
		}
		if e.deny&m != 0 {
			return Deny
		}
		if e.allow&m != 0 {
			res = Allow
		}
		for i := range e.hosts {
			if e.hosts[i].host != host {
				continue
			}
			if e.hosts[i].deny&m != 0 {
				return Deny
			}
			if e.hosts[i].allow&m != 0 {
				res = Allow
			}
		}
	}
	return res
}

// AuthorizeByResourceType reports whether principal may perform op on at
// least one resource of type rt, Kafka's Authorizer.authorizeByResourceType
// (InitProducerId without a transactional id is allowed to a principal that
// may WRITE some topic):
//   - yes if Authorize allows op on a resource of that type named
//     "hardcode" (so super users, allow.everyone.if.no.acl.found, and
//     ACLs on "*" count);
//   - otherwise only entries for the principal or User:*, the host or "*",
//     and op or ALL count (nothing is implied): a DENY on "*" means no; an
//     ALLOW on "*" means yes; an ALLOW on a literal name means yes unless a
//     DENY on the same literal name or a DENY prefix of it exists; an ALLOW
//     prefix means yes unless a DENY prefix of it exists.
func (a *Authorizer) AuthorizeByResourceType(principal, host string, op Operation, rt ResourceType) bool {
	if a.Authorize(principal, host, op, rt, "hardcode") {
		return true
	}
	if rt < 0 || int(rt) >= len(a.types) || a.types[rt] == nil {
		return false
	}
	denyLiteral := map[string]bool{}
	denyPrefix := map[string]bool{}
	var allowLiteral, allowPrefix []string
	wildcardAllow := false
	for _, b := range a.types[rt].all {
		if b.Host != Wildcard && CanonicalHost(b.Host) != host {
			continue
		}
		if b.Principal != principal && b.Principal != WildcardPrincipal {
			continue
		}
		if b.Operation != op && b.Operation != OpAll {
			continue
		}
		switch {
		case b.Permission == Deny && b.PatternType == PatternLiteral && b.Name == Wildcard:
			return false
		case b.Permission == Deny && b.PatternType == PatternLiteral:
			denyLiteral[b.Name] = true
		case b.Permission == Deny:
			denyPrefix[b.Name] = true
		case b.PatternType == PatternLiteral && b.Name == Wildcard:
			wildcardAllow = true
		case b.PatternType == PatternLiteral:
			allowLiteral = append(allowLiteral, b.Name)
		default:
			allowPrefix = append(allowPrefix, b.Name)
		}
	}
	if wildcardAllow {
		return true
	}
	dominated := func(name string) bool {
		for i := 1; i <= len(name); i++ {
			if denyPrefix[name[:i]] {
				return true
			}
		}
		return false
	}
	for _, n := range allowLiteral {
		if !denyLiteral[n] && !dominated(n) {
			return true
		}
	}
	for _, n := range allowPrefix {
		if !dominated(n) {
			return true
		}
	}
	return false
}

// AuthorizedOperations returns the operations among SupportedOperations(rt)
// that principal may perform on the resource, as the bit field of Kafka's
// authorized-operations fields (bit n set: operation code n allowed).
func (a *Authorizer) AuthorizedOperations(principal, host string, rt ResourceType, name string) int32 {
	var out int32
	for _, op := range SupportedOperations(rt) {
		if a.Authorize(principal, host, op, rt, name) {
			out |= 1 << uint(op)
		}
	}
	return out
}

// AllOperations is the authorized-operations bit field of every supported
// operation of rt: what Kafka answers when no authorizer is configured.
func AllOperations(rt ResourceType) int32 {
	var out int32
	for _, op := range SupportedOperations(rt) {
		out |= 1 << uint(op)
	}
	return out
}
