package acl

import (
	"fmt"
	"strings"
)

// Binding is one ACL: a resource pattern (type, name, pattern type) and an
// access control entry (principal, host, operation, permission), Kafka's
// AclBinding. It is comparable, so a set of bindings is a map.
type Binding struct {
	ResourceType ResourceType
	Name         string
	PatternType  PatternType
	Principal    string
	Host         string
	Operation    Operation
	Permission   Permission
}

// String formats the binding the way kafka-acls.sh lists one.
func (b Binding) String() string {
	return fmt.Sprintf("(resource=%s:%s:%s, principal=%s, host=%s, operation=%s, permission=%s)",
		b.ResourceType, b.PatternType, b.Name, b.Principal, b.Host, b.Operation, b.Permission)
}

// Validate checks a binding to be created, as Kafka's controller and
// request handler do: a concrete resource type, LITERAL or PREFIXED, a
// concrete operation, ALLOW or DENY, a non-empty name ("kafka-cluster" for
// the CLUSTER resource), a principal of the form Type:Name and a host.
// The error wraps ErrInvalid.
func (b Binding) Validate() error {
	switch {
	case !b.ResourceType.Known() || b.ResourceType == ResourceAny:
		return fmt.Errorf("%w: invalid resource type %s", ErrInvalid, b.ResourceType)
	case b.PatternType != PatternLiteral && b.PatternType != PatternPrefixed:
		return fmt.Errorf("%w: invalid pattern type %s", ErrInvalid, b.PatternType)
	case !b.Operation.Known() || b.Operation == OpAny:
		return fmt.Errorf("%w: invalid operation %s", ErrInvalid, b.Operation)
	case b.Permission != Allow && b.Permission != Deny:
		return fmt.Errorf("%w: invalid permission type %s", ErrInvalid, b.Permission)
	case b.Name == "":
		return fmt.Errorf("%w: empty resource name", ErrInvalid)
	case b.ResourceType == ResourceCluster && b.Name != ClusterName:
		return fmt.Errorf("%w: the only valid name for the CLUSTER resource is %s", ErrInvalid, ClusterName)
	case !ValidPrincipal(b.Principal):
		return fmt.Errorf("%w: principal %q is not of the form Type:Name (User:alice)", ErrInvalid, b.Principal)
	case b.Host == "":
		return fmt.Errorf("%w: empty host (use * for any host)", ErrInvalid)
	}
	return nil
}

// Filter selects bindings, Kafka's AclBindingFilter: nil strings and the
// ANY values match everything. PatternType MATCH selects every binding that
// would apply to Name: the LITERAL one of that name, the LITERAL wildcard
// "*", and every PREFIXED one whose prefix Name starts with.
type Filter struct {
	ResourceType ResourceType
	Name         *string
	PatternType  PatternType
	Principal    *string
	Host         *string
	Operation    Operation
	Permission   Permission
}

// AnyFilter matches every binding.
var AnyFilter = Filter{ResourceType: ResourceAny, PatternType: PatternAny, Operation: OpAny, Permission: PermissionAny}

// Validate refuses a filter with an UNKNOWN (or undefined) element, as
// Kafka does for DescribeAcls and DeleteAcls. The error wraps ErrInvalid.
func (f Filter) Validate() error {
	switch {
	case !f.ResourceType.Known():
		return fmt.Errorf("%w: filter has resource type %s", ErrInvalid, f.ResourceType)
	case !f.PatternType.Known():
		return fmt.Errorf("%w: filter has pattern type %s", ErrInvalid, f.PatternType)
	case !f.Operation.Known():
		return fmt.Errorf("%w: filter has operation %s", ErrInvalid, f.Operation)
	case !f.Permission.Known():
		return fmt.Errorf("%w: filter has permission type %s", ErrInvalid, f.Permission)
	}
	return nil
}

// Matches reports whether the filter selects b (Kafka's
// ResourcePatternFilter.matches and AccessControlEntryFilter.matches).
func (f Filter) Matches(b Binding) bool {
	if f.ResourceType != ResourceAny && f.ResourceType != b.ResourceType {
		return false
	}
	if f.PatternType != PatternAny && f.PatternType != PatternMatch && f.PatternType != b.PatternType {
		return false
	}
	if f.Name != nil {
		switch {
		case f.PatternType == PatternAny || f.PatternType == b.PatternType:
			if *f.Name != b.Name {
				return false
			}
		case b.PatternType == PatternLiteral: // MATCH
			if *f.Name != b.Name && b.Name != Wildcard {
				return false
			}
		case b.PatternType == PatternPrefixed: // MATCH
			if !strings.HasPrefix(*f.Name, b.Name) {
				return false
			}
		default:
			return false
		}
	}
	if f.Principal != nil && *f.Principal != b.Principal {
		return false
	}
	if f.Host != nil && *f.Host != b.Host {
		return false
	}
	if f.Operation != OpAny && f.Operation != b.Operation {
		return false
	}
	return f.Permission == PermissionAny || f.Permission == b.Permission
}

// Exact returns the filter that matches b alone.
func (b Binding) Exact() Filter {
	return Filter{ResourceType: b.ResourceType, Name: &b.Name, PatternType: b.PatternType,
		Principal: &b.Principal, Host: &b.Host, Operation: b.Operation, Permission: b.Permission}
}
