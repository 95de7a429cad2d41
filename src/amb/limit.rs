//! Reading AMB answers with a size limit, through an SDK interceptor: a declared length over
//! the limit is refused before the body is read, and any body is cut off at the limit.

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeDeserializationInterceptorContextMut;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::ConfigBag;

/// Largest answer body read from AMB. Ten balances are a few kilobytes.
pub const MAX_BODY: usize = 1024 * 1024;

/// Words every body-limit refusal carries, so that the error mapping can recognize it.
pub(crate) const LIMIT_MESSAGE: &str = "over the answer size limit";

/// The interceptor that applies [`MAX_BODY`] to every answer.
#[derive(Debug)]
pub(crate) struct BodyLimit;

impl Intercept for BodyLimit {
    fn name(&self) -> &'static str {
        "tokbal-body-limit"
    }

    fn modify_before_deserialization(
        &self,
        context: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let response = context.response_mut();
        let declared = response
            .headers()
            .get("content-length")
            .and_then(|v| v.trim().parse::<u64>().ok());
        if let Some(n) = declared.filter(|n| *n > MAX_BODY as u64) {
            return Err(format!(
                "the answer's body ({n} bytes) is {LIMIT_MESSAGE} of {MAX_BODY} bytes"
            )
            .into());
        }
        let body = std::mem::replace(response.body_mut(), SdkBody::taken());
        *response.body_mut() = SdkBody::from_body_1_x(http_body_util::Limited::new(body, MAX_BODY));
        Ok(())
    }
}
