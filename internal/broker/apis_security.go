package broker

import (
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/acl"
)

// securityAPIs returns the ACL APIs. The ACLs themselves live in the
// metadata log (internal/metadata, records acl and remove_acl), so any
// node may change them and every node enforces them (authorize.go).
func securityAPIs() map[int16]api {
	return map[int16]api{
		kmsg.DescribeACLs.Int16(): {0, 3, now(handleDescribeACLs)},
		kmsg.CreateACLs.Int16():   {0, 3, now(handleCreateACLs)},
		kmsg.DeleteACLs.Int16():   {0, 3, now(handleDeleteACLs)},
		// Client quotas (quota.go); the values live in the metadata log.
		kmsg.DescribeClientQuotas.Int16(): {0, 1, now(handleDescribeClientQuotas)},
		kmsg.AlterClientQuotas.Int16():    {0, 1, handleAlterClientQuotas},
	}
}

// securityDisabled is the message Kafka sends with SECURITY_DISABLED.
const securityDisabled = "No Authorizer is configured on the broker"

// aclFilter converts a DescribeAcls or DeleteAcls filter.
func aclFilter(rt kmsg.ACLResourceType, name *string, pt kmsg.ACLResourcePatternType, principal, host *string, op kmsg.ACLOperation, perm kmsg.ACLPermissionType) acl.Filter {
	return acl.Filter{ResourceType: acl.ResourceType(rt), Name: name, PatternType: acl.PatternType(pt),
		Principal: principal, Host: host, Operation: acl.Operation(op), Permission: acl.Permission(perm)}
}
