package storage

import "github.com/samsa-streaming/samsa/internal/record"

type recordHeader = record.Header
