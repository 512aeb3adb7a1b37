package bulkhead_test

import "go.opentelemetry.io/otel/sdk/metric/metricdata"

type metricGauge = metricdata.Gauge[int64]
