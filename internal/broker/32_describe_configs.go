package broker

// DescribeConfigs, key 32, v0-v4.
//   v1: synonyms and config source.  v2: no change.
//   v3: config type and documentation.  v4: flexible.
// Topic resources show every topic setting with its source (topic
// override, static broker setting, or default). Broker resources show the
// broker settings of config.Broker.

import (
	"sort"
	"strconv"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-streaming/samsa/internal/config"
	"github.com/samsa-streaming/samsa/internal/metadata"
)

var sortedTopicKeys = func() func() []string {
	var keys []string
	return func() []string {
		if keys == nil {
			keys = config.TopicKeys()
			sort.Strings(keys)
		}
		return keys
	}
}()

func handleDescribeConfigs(rc *reqCtx, req *kmsg.DescribeConfigsRequest) kmsg.Response {
	b := rc.broker()
	resp := req.ResponseKind().(*kmsg.DescribeConfigsResponse)
	im := b.meta.Image()
	for _, r := range req.Resources {
		rr := kmsg.NewDescribeConfigsResponseResource()
		rr.ResourceType, rr.ResourceName = r.ResourceType, r.ResourceName
		wanted := func(string) bool { return true }
		if r.ConfigNames != nil {
			set := map[string]bool{}
			for _, n := range r.ConfigNames {
				set[n] = true
			}
			wanted = func(n string) bool { return set[n] }
		}
		switch r.ResourceType {
		case kmsg.ConfigResourceTypeTopic:
			if _, ok := im.Topic(r.ResourceName); !ok {
				rr.ErrorCode = kerr.UnknownTopicOrPartition.Code
				break
			}
			overrides := im.Configs(metadata.ResourceTopic, r.ResourceName)
			for _, name := range sortedTopicKeys() {
				if wanted(name) {
					rr.Configs = append(rr.Configs, topicConfigEntry(b, req, overrides, name))
				}
			}
		case kmsg.ConfigResourceTypeBroker:
			if r.ResourceName != "" && r.ResourceName != strconv.Itoa(int(b.cfg.NodeID)) {
				rr.ErrorCode = kerr.InvalidRequest.Code
				rr.ErrorMessage = errMessage(errUnknownBroker(r.ResourceName))
				break
			}
			for i := range config.Broker {
				if k := &config.Broker[i]; wanted(k.Name) {
					rr.Configs = append(rr.Configs, brokerConfigEntry(b, req, k))
				}
			}
		default:
			rr.ErrorCode = kerr.InvalidRequest.Code
		}
		resp.Resources = append(resp.Resources, rr)
	}
	return resp
}

type errUnknownBroker string

func (e errUnknownBroker) Error() string { return "no broker with id " + string(e) }

func topicConfigEntry(b *Broker, req *kmsg.DescribeConfigsRequest, overrides map[string]string, name string) kmsg.DescribeConfigsResponseResourceConfig {
	key, _ := config.LookupTopic(name)
	v, isOverride := b.cfg.TopicValue(overrides, name)
	c := kmsg.NewDescribeConfigsResponseResourceConfig()
	c.Name, c.Value, c.ConfigType = name, &v, kmsg.ConfigType(key.Type)
	if req.IncludeDocumentation && key.Doc != "" {
		c.Documentation = &key.Doc
	}
	syn := config.BrokerSynonym(name)
	var synonyms []kmsg.DescribeConfigsResponseResourceConfigConfigSynonym
	addSyn := func(n, val string, src kmsg.ConfigSource) {
		s := kmsg.NewDescribeConfigsResponseResourceConfigConfigSynonym()
		s.Name, s.Value, s.Source = n, &val, src
		synonyms = append(synonyms, s)
	}
	switch {
	case isOverride:
		c.Source = kmsg.ConfigSourceDynamicTopicConfig
	case syn != "" && b.cfg.IsSet(syn):
		c.Source = kmsg.ConfigSourceStaticBrokerConfig
	default:
		c.Source, c.IsDefault = kmsg.ConfigSourceDefaultConfig, true
	}
	if isOverride {
		addSyn(name, overrides[name], kmsg.ConfigSourceDynamicTopicConfig)
	}
	if syn != "" {
		if b.cfg.IsSet(syn) {
			addSyn(syn, b.cfg.Get(syn), kmsg.ConfigSourceStaticBrokerConfig)
		}
		if bk, ok := config.LookupBroker(syn); ok && bk.Default != "" {
			addSyn(syn, bk.Default, kmsg.ConfigSourceDefaultConfig)
		}
	}
	if req.IncludeSynonyms {
		c.ConfigSynonyms = synonyms
	}
	return c
}

func brokerConfigEntry(b *Broker, req *kmsg.DescribeConfigsRequest, k *config.Key) kmsg.DescribeConfigsResponseResourceConfig {
	c := kmsg.NewDescribeConfigsResponseResourceConfig()
	v := b.cfg.Get(k.Name)
	c.Name, c.ConfigType, c.ReadOnly = k.Name, kmsg.ConfigType(k.Type), k.ReadOnly
	if v != "" || k.Type != config.TypeList {
		c.Value = &v
	}
	if b.cfg.IsSet(k.Name) {
		c.Source = kmsg.ConfigSourceStaticBrokerConfig
		if req.IncludeSynonyms {
			s := kmsg.NewDescribeConfigsResponseResourceConfigConfigSynonym()
			s.Name, s.Value, s.Source = k.Name, &v, kmsg.ConfigSourceStaticBrokerConfig
			c.ConfigSynonyms = append(c.ConfigSynonyms, s)
		}
	} else {
		c.Source, c.IsDefault = kmsg.ConfigSourceDefaultConfig, true
	}
	if req.IncludeDocumentation && k.Doc != "" {
		c.Documentation = &k.Doc
	}
	return c
}
