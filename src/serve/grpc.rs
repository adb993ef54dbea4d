//! The gRPC routes of the KServe V2 protocol: `inference.GRPCInferenceService` (tonic, types
//! generated from `proto/inference/*.proto` at build time). Inputs come from
//! `raw_input_contents` (or typed `contents`), outputs go to `raw_output_contents`; the
//! classification extension is the output parameter `classification` (int64). Methods that
//! the proto leaves out are answered UNIMPLEMENTED by tonic.

use std::collections::HashMap;
use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::error::ApiError;
use super::metadata::PLATFORM;
use super::served::ModelInfo;
use super::state::{ServerState, EXTENSIONS, SERVER_NAME, VERSION};
use super::tensors::{
    Data, InferRequest, InputTensor, OutputRequest, IMAGE, INPUT, LOGITS, PROBABILITIES,
};

/// The generated messages and server stub.
#[allow(clippy::all, missing_docs)]
pub mod pb {
    include!(concat!(env!("OUT_DIR"), "/inference.rs"));
}

use pb::grpc_inference_service_server::{GrpcInferenceService, GrpcInferenceServiceServer};
use pb::infer_parameter::ParameterChoice;

/// The service, over the shared server state.
pub struct Service {
    state: Arc<ServerState>,
}

/// The tonic server of the service, with message limits of `max_bytes`.
pub fn server(state: Arc<ServerState>, max_bytes: usize) -> GrpcInferenceServiceServer<Service> {
    GrpcInferenceServiceServer::new(Service { state })
        .max_decoding_message_size(max_bytes)
        .max_encoding_message_size(max_bytes)
}

fn int_param(p: &HashMap<String, pb::InferParameter>, key: &str) -> Option<i64> {
    match p.get(key)?.parameter_choice.as_ref()? {
        ParameterChoice::Int64Param(v) => Some(*v),
        ParameterChoice::Uint64Param(v) => Some(*v as i64),
        _ => None,
    }
}

fn tensor_meta(
    name: &str,
    datatype: &str,
    shape: Vec<i64>,
) -> pb::model_metadata_response::TensorMetadata {
    pb::model_metadata_response::TensorMetadata {
        name: name.into(),
        datatype: datatype.into(),
        shape,
    }
}

fn config(m: &ModelInfo) -> pb::ModelConfig {
    use pb::model_input::Format;
    let s = &m.settings;
    let classes = m.classes as i64;
    let output = |name: &str| pb::ModelOutput {
        name: name.into(),
        data_type: pb::DataType::TypeFp32 as i32,
        dims: vec![classes],
        label_filename: String::new(),
    };
    pb::ModelConfig {
        name: m.name.clone(),
        platform: PLATFORM.into(),
        backend: PLATFORM.into(),
        max_batch_size: s.max_batch_size.min(i32::MAX as usize) as i32,
        input: vec![
            pb::ModelInput {
                name: INPUT.into(),
                data_type: pb::DataType::TypeFp32 as i32,
                format: Format::Nchw as i32,
                dims: m.input_shape()[1..].to_vec(),
                optional: true,
            },
            pb::ModelInput {
                name: IMAGE.into(),
                data_type: pb::DataType::TypeString as i32,
                format: Format::None as i32,
                dims: vec![1],
                optional: true,
            },
        ],
        output: vec![output(LOGITS), output(PROBABILITIES)],
        scheduling_choice: s.dynamic_batching.then(|| {
            pb::model_config::SchedulingChoice::DynamicBatching(pb::ModelDynamicBatching {
                preferred_batch_size: s
                    .preferred_batch_sizes
                    .iter()
                    .map(|&b| b.min(i32::MAX as usize) as i32)
                    .collect(),
                max_queue_delay_microseconds: s.max_queue_delay.as_micros() as u64,
                preserve_ordering: false,
                default_queue_policy: Some(pb::ModelQueuePolicy {
                    timeout_action: 0,
                    default_timeout_microseconds: s.timeout.as_micros() as u64,
                    allow_timeout_override: false,
                    max_queue_size: s.max_queue_size.min(u32::MAX as usize) as u32,
                }),
            })
        }),
    }
}

/// The request in the server's terms.
fn convert(r: pb::ModelInferRequest) -> Result<InferRequest, ApiError> {
    let raw = r.raw_input_contents;
    if !raw.is_empty() && raw.len() != r.inputs.len() {
        return Err(ApiError::bad_request(format!(
            "raw_input_contents has {} entries, expected one per input ({})",
            raw.len(),
            r.inputs.len()
        )));
    }
    let mut inputs = Vec::with_capacity(r.inputs.len());
    for (i, t) in r.inputs.into_iter().enumerate() {
        let what = format!("input `{}`", t.name);
        let data = match (raw.get(i), t.contents) {
            (Some(bytes), _) => Data::from_raw(&what, &t.datatype, bytes)?,
            (None, Some(c)) if t.datatype == "FP32" => Data::Fp32(c.fp32_contents),
            (None, Some(c)) if t.datatype == "BYTES" => Data::Bytes(c.bytes_contents),
            (None, Some(_)) => return Err(super::tensors::wrong_datatype(&what, &t.datatype)),
            (None, None) => {
                return Err(ApiError::bad_request(format!(
                    "{what} has neither raw_input_contents nor contents"
                )))
            }
        };
        inputs.push(InputTensor {
            name: t.name,
            datatype: t.datatype,
            shape: t.shape,
            data,
        });
    }
    let mut outputs = Vec::with_capacity(r.outputs.len());
    for o in r.outputs {
        let classification = match o.parameters.get("classification") {
            None => None,
            Some(_) => match int_param(&o.parameters, "classification") {
                Some(k) if k >= 1 => Some(k as usize),
                _ => {
                    return Err(ApiError::bad_request(format!(
                        "output `{}`: classification must be an integer ≥ 1",
                        o.name
                    )))
                }
            },
        };
        outputs.push(OutputRequest {
            name: o.name,
            classification,
            binary: true,
        });
    }
    Ok(InferRequest {
        id: (!r.id.is_empty()).then_some(r.id),
        inputs,
        outputs,
        binary_default: true,
    })
}

impl Service {
    async fn infer(&self, r: pb::ModelInferRequest) -> Result<pb::ModelInferResponse, ApiError> {
        let name = r.model_name.clone();
        let model = self.state.model(&name, Some(&r.model_version))?;
        // While stopping, requests on open connections are still answered (they are in flight).
        let req = convert(r)?;
        let id = req.id.clone().unwrap_or_default();
        let outs = model.infer(req).await?;
        let mut resp = pb::ModelInferResponse {
            model_name: name,
            model_version: VERSION.into(),
            id,
            ..Default::default()
        };
        for o in outs {
            resp.raw_output_contents.push(o.data.to_raw());
            resp.outputs
                .push(pb::model_infer_response::InferOutputTensor {
                    name: o.name,
                    datatype: o.datatype.into(),
                    shape: o.shape,
                    ..Default::default()
                });
        }
        Ok(resp)
    }
}

#[tonic::async_trait]
impl GrpcInferenceService for Service {
    async fn server_live(
        &self,
        _: Request<pb::ServerLiveRequest>,
    ) -> Result<Response<pb::ServerLiveResponse>, Status> {
        Ok(Response::new(pb::ServerLiveResponse { live: true }))
    }

    async fn server_ready(
        &self,
        _: Request<pb::ServerReadyRequest>,
    ) -> Result<Response<pb::ServerReadyResponse>, Status> {
        Ok(Response::new(pb::ServerReadyResponse {
            ready: self.state.ready(),
        }))
    }

    async fn model_ready(
        &self,
        r: Request<pb::ModelReadyRequest>,
    ) -> Result<Response<pb::ModelReadyResponse>, Status> {
        let r = r.into_inner();
        if let Err(e) = self.state.model(&r.name, Some(&r.version)) {
            if e.kind == super::error::Kind::NotFound {
                return Err(e.into());
            }
        }
        Ok(Response::new(pb::ModelReadyResponse {
            ready: self.state.model_ready(&r.name, Some(&r.version)),
        }))
    }

    async fn server_metadata(
        &self,
        _: Request<pb::ServerMetadataRequest>,
    ) -> Result<Response<pb::ServerMetadataResponse>, Status> {
        Ok(Response::new(pb::ServerMetadataResponse {
            name: SERVER_NAME.into(),
            version: env!("CARGO_PKG_VERSION").into(),
            extensions: EXTENSIONS.iter().map(|e| e.to_string()).collect(),
        }))
    }

    async fn model_metadata(
        &self,
        r: Request<pb::ModelMetadataRequest>,
    ) -> Result<Response<pb::ModelMetadataResponse>, Status> {
        let r = r.into_inner();
        let m = self.state.model(&r.name, Some(&r.version))?;
        let classes = m.info.classes as i64;
        Ok(Response::new(pb::ModelMetadataResponse {
            name: m.info.name.clone(),
            versions: vec![VERSION.into()],
            platform: PLATFORM.into(),
            inputs: vec![
                tensor_meta(INPUT, "FP32", m.info.input_shape()),
                tensor_meta(IMAGE, "BYTES", vec![-1]),
            ],
            outputs: vec![
                tensor_meta(LOGITS, "FP32", vec![-1, classes]),
                tensor_meta(PROBABILITIES, "FP32", vec![-1, classes]),
            ],
        }))
    }

    async fn model_infer(
        &self,
        r: Request<pb::ModelInferRequest>,
    ) -> Result<Response<pb::ModelInferResponse>, Status> {
        let r = r.into_inner();
        let name = r.model_name.clone();
        match self.infer(r).await {
            Ok(resp) => Ok(Response::new(resp)),
            Err(e) => {
                self.state.failed("grpc", &name, &e);
                Err(e.into())
            }
        }
    }

    async fn model_config(
        &self,
        r: Request<pb::ModelConfigRequest>,
    ) -> Result<Response<pb::ModelConfigResponse>, Status> {
        let r = r.into_inner();
        let m = self.state.model(&r.name, Some(&r.version))?;
        Ok(Response::new(pb::ModelConfigResponse {
            config: Some(config(&m.info)),
        }))
    }
}
