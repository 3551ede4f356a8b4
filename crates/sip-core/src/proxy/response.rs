//! Choosing the response to send upstream among the final responses of the branches
//! (RFC 3261 §16.7 step 6): a 6xx wins, then the lowest class (3xx before 4xx before
//! 5xx); within a class the first one received is kept.

use bytes::Bytes;

/// The best final response so far: its code and, when it came from downstream, its bytes
/// (top Via already removed). `None` bytes mean a response we generate (408, 503).
#[derive(Debug, Default)]
pub struct Best {
    current: Option<(u16, Option<Bytes>)>,
}

fn rank(code: u16) -> u16 {
    if code >= 600 { 0 } else { code / 100 }
}

impl Best {
    /// Offers a final response.
    pub fn offer(&mut self, code: u16, data: Option<Bytes>) {
        let better = match &self.current {
            None => true,
            Some((c, _)) => rank(code) < rank(*c),
        };
        if better {
            self.current = Some((code, data));
        }
    }

    /// The code of the chosen response.
    pub fn code(&self) -> Option<u16> {
        self.current.as_ref().map(|c| c.0)
    }

    /// Takes the chosen response.
    pub fn take(&self) -> Option<(u16, Option<Bytes>)> {
        self.current.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranking() {
        let mut b = Best::default();
        b.offer(503, None);
        b.offer(486, None);
        b.offer(404, None);
        assert_eq!(b.take().map(|x| x.0), Some(486));
        b.offer(302, None);
        assert_eq!(b.take().map(|x| x.0), Some(302));
        b.offer(603, None);
        assert_eq!(b.take().map(|x| x.0), Some(603));
        b.offer(301, None);
        assert_eq!(b.take().map(|x| x.0), Some(603));
    }
}
