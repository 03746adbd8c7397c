// Which Prometheus the docker tests run. The product deploys Prometheus 3, so the tests run the
// same major version: inferstack-test/prometheus:3.13, compiled from Prometheus' Go module by
// images/prometheus3 (no registry). INFERSTACK_TEST_PROMETHEUS_IMAGE picks another local image,
// e.g. inferstack-test/prometheus:2.42 (Debian's, images/prometheus) to check 2.x still works.

/** The Prometheus 3 test image images/build.sh makes. */
export const PROMETHEUS_3_IMAGE = 'inferstack-test/prometheus:3.13';

/** The Prometheus image docker tests start: {@link PROMETHEUS_3_IMAGE} unless overridden. */
export const PROMETHEUS_IMAGE: string = process.env.INFERSTACK_TEST_PROMETHEUS_IMAGE || PROMETHEUS_3_IMAGE;
