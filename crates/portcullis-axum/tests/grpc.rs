//! `AuthLayer` wraps any tower service, a tonic gRPC server included: without a token a gRPC
//! client sees `UNAUTHENTICATED`, with one the call goes through.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // test code

use portcullis_axum::AuthLayer;
use portcullis_core::testing::TestIssuer;
use tonic::Code;
use tonic::metadata::MetadataValue;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_through_the_auth_layer() {
    let issuer = TestIssuer::new().expect("keys");
    let verifier = issuer.verifier().expect("jwks").build().expect("config");
    let (reporter, health) = tonic_health::server::health_reporter();
    reporter
        .set_service_status("", tonic_health::ServingStatus::Serving)
        .await;

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = tokio::spawn(
        tonic::transport::Server::builder()
            .layer(AuthLayer::new(verifier))
            .add_service(health)
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );

    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .expect("endpoint")
        .connect()
        .await
        .expect("connect");
    let mut client = HealthClient::new(channel);
    let status = client
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .expect_err("no token");
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");

    let token = issuer.token().sign().expect("sign");
    let mut request = tonic::Request::new(HealthCheckRequest {
        service: String::new(),
    });
    let value: MetadataValue<_> = format!("Bearer {token}").parse().expect("metadata");
    request.metadata_mut().insert("authorization", value);
    let response = client.check(request).await.expect("authorized call");
    // (A tonic handler reads the caller with `request.extensions().get::<RequestState>()`.)
    assert_eq!(
        response.into_inner().status,
        tonic_health::pb::health_check_response::ServingStatus::Serving as i32
    );
    server.abort();
}
