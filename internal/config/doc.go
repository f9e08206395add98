// Package config parses, validates and defaults the broker's settings.
//
// Settings use Apache Kafka's property names wherever Kafka has one
// (log.dirs, num.partitions, log.segment.bytes, ...), so a Kafka
// server.properties file works as it is. A setting Samsa does not know is an
// error at start-up, never silently ignored; a setting Samsa knows but does
// not act on yet is accepted and listed by Unsupported so the operator is told.
//
// Every key is described once, in the table in keys.go: its type, default,
// bounds and where its value goes. DescribeConfigs answers from the same
// table, so what the broker reports is what it runs with.
package config
