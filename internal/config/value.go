package config

import (
	"fmt"
	"strconv"
	"strings"
)

// Check validates a value against the key's type, bounds and enumeration,
// returning an error that wraps ErrInvalid and names the key.
func (k *Key) Check(v string) error {
	v = strings.TrimSpace(v)
	bad := func(why string) error {
		return fmt.Errorf("%w: %s=%q: %s", ErrInvalid, k.Name, v, why)
	}
	switch k.Type {
	case TypeBoolean:
		if v != "true" && v != "false" {
			return bad("must be true or false")
		}
	case TypeInt, TypeShort, TypeLong:
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return bad("not an integer")
		}
		if (k.Min != 0 || k.Max != 0) && (n < k.Min || n > k.Max) {
			return bad(fmt.Sprintf("must be between %d and %d", k.Min, k.Max))
		}
	case TypeDouble:
		if _, err := strconv.ParseFloat(v, 64); err != nil {
			return bad("not a number")
		}
	case TypeList:
		if k.Name == "leader.replication.throttled.replicas" || k.Name == "follower.replication.throttled.replicas" {
			if _, err := ParseThrottledReplicas(v); err != nil {
				return bad(err.Error())
			}
		}
		if k.Name == "cleanup.policy" || k.Name == "log.cleanup.policy" {
			for _, p := range strings.Split(v, ",") {
				if p = strings.TrimSpace(p); p != "delete" && p != "compact" {
					return bad("must be delete, compact or both")
				}
			}
		}
	case TypeString:
		if k.Name == "max.connections.per.ip.overrides" {
			if _, err := ParseMaxConnectionsPerIPOverrides(v); err != nil {
				return err
			}
		}
	}
	if len(k.Enum) > 0 {
		for _, e := range k.Enum {
			if strings.EqualFold(e, v) {
				return nil
			}
		}
		return bad("must be one of " + strings.Join(k.Enum, ", "))
	}
	return nil
}
