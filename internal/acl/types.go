package acl

import (
	"errors"
	"fmt"
	"strings"
)

// ResourceType is Kafka's ResourceType, with its wire codes.
type ResourceType int8

// Resource types (kmsg.ACLResourceType codes).
const (
	ResourceUnknown         ResourceType = 0
	ResourceAny             ResourceType = 1
	ResourceTopic           ResourceType = 2
	ResourceGroup           ResourceType = 3
	ResourceCluster         ResourceType = 4
	ResourceTransactionalID ResourceType = 5
	ResourceDelegationToken ResourceType = 6
	ResourceUser            ResourceType = 7
)

// PatternType is Kafka's PatternType, with its wire codes.
type PatternType int8

// Pattern types (kmsg.ACLResourcePatternType codes).
const (
	PatternUnknown  PatternType = 0
	PatternAny      PatternType = 1 // filters only: any pattern type, exact name
	PatternMatch    PatternType = 2 // filters only: every pattern that applies to the name
	PatternLiteral  PatternType = 3
	PatternPrefixed PatternType = 4
)

// Operation is Kafka's AclOperation, with its wire codes.
type Operation int8

// Operations (kmsg.ACLOperation codes).
const (
	OpUnknown         Operation = 0
	OpAny             Operation = 1 // filters only
	OpAll             Operation = 2
	OpRead            Operation = 3
	OpWrite           Operation = 4
	OpCreate          Operation = 5
	OpDelete          Operation = 6
	OpAlter           Operation = 7
	OpDescribe        Operation = 8
	OpClusterAction   Operation = 9
	OpDescribeConfigs Operation = 10
	OpAlterConfigs    Operation = 11
	OpIdempotentWrite Operation = 12
	OpCreateTokens    Operation = 13
	OpDescribeTokens  Operation = 14
)

// maxOp is the highest known operation code.
const maxOp = OpDescribeTokens

// Permission is Kafka's AclPermissionType, with its wire codes.
type Permission int8

// Permission types (kmsg.ACLPermissionType codes).
const (
	PermissionUnknown Permission = 0
	PermissionAny     Permission = 1 // filters only
	Deny              Permission = 2
	Allow             Permission = 3
)

// ClusterName is the name of the one CLUSTER resource ("kafka-cluster").
const ClusterName = "kafka-cluster"

// Wildcard is the literal resource name and the host that match any.
const Wildcard = "*"

// WildcardPrincipal is the principal that matches every principal.
const WildcardPrincipal = "User:*"

var (
	resourceNames = []string{"UNKNOWN", "ANY", "TOPIC", "GROUP", "CLUSTER", "TRANSACTIONAL_ID", "DELEGATION_TOKEN", "USER"}
	patternNames  = []string{"UNKNOWN", "ANY", "MATCH", "LITERAL", "PREFIXED"}
	opNames       = []string{"UNKNOWN", "ANY", "ALL", "READ", "WRITE", "CREATE", "DELETE", "ALTER", "DESCRIBE", "CLUSTER_ACTION",
		"DESCRIBE_CONFIGS", "ALTER_CONFIGS", "IDEMPOTENT_WRITE", "CREATE_TOKENS", "DESCRIBE_TOKENS"}
	permissionNames = []string{"UNKNOWN", "ANY", "DENY", "ALLOW"}
)

func name(names []string, v int8) string {
	if v >= 0 && int(v) < len(names) {
		return names[v]
	}
	return fmt.Sprintf("UNKNOWN(%d)", v)
}

// String is Kafka's name of the resource type (TOPIC, TRANSACTIONAL_ID, ...).
func (t ResourceType) String() string { return name(resourceNames, int8(t)) }

// String is Kafka's name of the pattern type (LITERAL, PREFIXED, ...).
func (t PatternType) String() string { return name(patternNames, int8(t)) }

// String is Kafka's name of the operation (READ, IDEMPOTENT_WRITE, ...).
func (o Operation) String() string { return name(opNames, int8(o)) }

// String is Kafka's name of the permission (ALLOW, DENY, ...).
func (p Permission) String() string { return name(permissionNames, int8(p)) }

// Known reports whether t is a resource type Kafka defines (ANY included).
func (t ResourceType) Known() bool { return t > ResourceUnknown && t <= ResourceUser }

// Known reports whether t is a pattern type Kafka defines.
func (t PatternType) Known() bool { return t > PatternUnknown && t <= PatternPrefixed }

// Known reports whether o is an operation Kafka defines.
func (o Operation) Known() bool { return o > OpUnknown && o <= maxOp }

// Known reports whether p is a permission Kafka defines.
func (p Permission) Known() bool { return p == PermissionAny || p == Deny || p == Allow }

// fold reduces a name to upper case without separators, so that "Read",
// "READ", "IdempotentWrite", "idempotent-write" and "IDEMPOTENT_WRITE"
// compare equal, as kafka-acls.sh accepts both spellings.
func fold(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '_', '-', ' ':
			return -1
		}
		if r >= 'a' && r <= 'z' {
			return r - 'a' + 'A'
		}
		return r
	}, s)
}

func parse(names []string, s string) (int8, bool) {
	f := fold(s)
	for i, n := range names {
		if i > 0 && fold(n) == f {
			return int8(i), true
		}
	}
	return 0, false
}

// ParseResourceType reads a resource type by name, case and separators
// ignored ("topic", "TransactionalId", "transactional-id").
func ParseResourceType(s string) (ResourceType, error) {
	if v, ok := parse(resourceNames, s); ok {
		return ResourceType(v), nil
	}
	return ResourceUnknown, fmt.Errorf("unknown resource type %q", s)
}

// ParsePatternType reads a pattern type by name (literal, prefixed, any,
// match).
func ParsePatternType(s string) (PatternType, error) {
	if v, ok := parse(patternNames, s); ok {
		return PatternType(v), nil
	}
	return PatternUnknown, fmt.Errorf("unknown resource pattern type %q", s)
}

// ParseOperation reads an operation by name (Read, IdempotentWrite,
// DESCRIBE_CONFIGS, All, ...).
func ParseOperation(s string) (Operation, error) {
	if v, ok := parse(opNames, s); ok {
		return Operation(v), nil
	}
	return OpUnknown, fmt.Errorf("unknown operation %q", s)
}

// ParsePermission reads a permission by name (allow, deny, any).
func ParsePermission(s string) (Permission, error) {
	if v, ok := parse(permissionNames, s); ok {
		return Permission(v), nil
	}
	return PermissionUnknown, fmt.Errorf("unknown permission type %q", s)
}

// SupportedOperations are the operations that mean something on a
// resource type (Kafka's AclEntry.supportedOperations), used for the
// authorized-operations bit fields of Metadata, DescribeCluster and
// DescribeGroups.
func SupportedOperations(t ResourceType) []Operation {
	switch t {
	case ResourceTopic:
		return []Operation{OpRead, OpWrite, OpCreate, OpDescribe, OpDelete, OpAlter, OpDescribeConfigs, OpAlterConfigs}
	case ResourceGroup:
		return []Operation{OpRead, OpDescribe, OpDelete, OpDescribeConfigs, OpAlterConfigs}
	case ResourceCluster:
		return []Operation{OpCreate, OpClusterAction, OpDescribeConfigs, OpAlterConfigs, OpIdempotentWrite, OpAlter, OpDescribe}
	case ResourceTransactionalID:
		return []Operation{OpDescribe, OpWrite}
	case ResourceDelegationToken:
		return []Operation{OpDescribe}
	case ResourceUser:
		return []Operation{OpCreateTokens, OpDescribeTokens}
	}
	return nil
}

// ErrInvalid is wrapped by every error about a malformed binding or filter;
// the broker answers INVALID_REQUEST for it.
var ErrInvalid = errors.New("invalid ACL")

// ValidPrincipal reports whether p has Kafka's principal form "Type:Name"
// (SecurityUtils.parseKafkaPrincipal: a colon with something before it).
func ValidPrincipal(p string) bool {
	i := strings.IndexByte(p, ':')
	return i > 0
}
