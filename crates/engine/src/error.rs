//! The one public error of the engine. Every failure carries a stable [`ErrorCode`]; the binding is the
//! single place where codes become JavaScript errors.

/// The small, stable set of error kinds the outside world can rely on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    InvalidArgument,
    NotFound,
    AlreadyExists,
    PermissionDenied,
    Corrupted,
    Closed,
    Internal,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidArgument => "InvalidArgument",
            ErrorCode::NotFound => "NotFound",
            ErrorCode::AlreadyExists => "AlreadyExists",
            ErrorCode::PermissionDenied => "PermissionDenied",
            ErrorCode::Corrupted => "Corrupted",
            ErrorCode::Closed => "Closed",
            ErrorCode::Internal => "Internal",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input: the message is the one Chroma gives for the same input where Chroma has one.
    #[error("{message}")]
    InvalidArgument { message: String },
    #[error("Collection [{name}] does not exist")]
    CollectionNotFound { name: String },
    #[error("Collection [{name}] already exists")]
    CollectionExists { name: String },
    #[error("Tenant [{name}] not found")]
    TenantNotFound { name: String },
    #[error("Tenant [{name}] already exists")]
    TenantExists { name: String },
    #[error("Database [{name}] not found. Are you sure it exists?")]
    DatabaseNotFound { name: String },
    #[error("Database [{name}] already exists")]
    DatabaseExists { name: String },
    #[error("Collection expecting embedding with dimension of {expected}, got {got}")]
    DimensionMismatch { expected: usize, got: usize },
    /// Other not-found cases whose message Chroma words differently.
    #[error("{message}")]
    NotFound { message: String },
    #[error("The database at {path} is in use by another process")]
    Locked { path: String },
    #[error("Reset is disabled by config")]
    ResetDisabled,
    #[error("{message}")]
    Corrupted { message: String },
    #[error("The client has been closed")]
    Closed,
    #[error("Storage error: {0}")]
    Storage(#[from] rusqlite::Error),
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    #[error("Internal error: {message}")]
    Internal { message: String },
}

impl Error {
    pub fn invalid(message: impl Into<String>) -> Self {
        Error::InvalidArgument { message: message.into() }
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Error::Internal { message: message.into() }
    }

    pub fn code(&self) -> ErrorCode {
        match self {
            Error::InvalidArgument { .. } | Error::DimensionMismatch { .. } => ErrorCode::InvalidArgument,
            Error::CollectionNotFound { .. }
            | Error::TenantNotFound { .. }
            | Error::DatabaseNotFound { .. }
            | Error::NotFound { .. } => {
                ErrorCode::NotFound
            }
            Error::CollectionExists { .. } | Error::TenantExists { .. } | Error::DatabaseExists { .. } => {
                ErrorCode::AlreadyExists
            }
            Error::ResetDisabled | Error::Locked { .. } => ErrorCode::PermissionDenied,
            Error::Corrupted { .. } => ErrorCode::Corrupted,
            Error::Closed => ErrorCode::Closed,
            Error::Storage(_) | Error::Io(_) | Error::Internal { .. } => ErrorCode::Internal,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
