//! Class names: the 1000 ImageNet classes (standard order, with their WordNet ids) and the 10
//! CIFAR-10 classes built in, or one name a line from a file.
//!
//! `imagenet.txt` holds `index<TAB>wnid<TAB>name` lines; names use `_` for spaces, as in the
//! Keras class index. Two ImageNet names occur twice (`crane` 134/517, `maillot` 638/639), so a
//! name alone does not always identify a class; the WordNet id does.

use std::collections::HashMap;
use std::path::Path;

use crate::error::{Error, Result};

const IMAGENET: &str = include_str!("imagenet.txt");

/// The CIFAR-10 classes in label order.
pub const CIFAR10: [&str; 10] = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
];

/// One ImageNet class.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImagenetClass {
    pub index: usize,
    pub wnid: &'static str,
    pub name: &'static str,
}

/// The 1000 ImageNet classes in index order.
pub fn imagenet_classes() -> Vec<ImagenetClass> {
    IMAGENET
        .lines()
        .filter_map(|line| {
            let mut f = line.split('\t');
            Some(ImagenetClass {
                index: f.next()?.parse().ok()?,
                wnid: f.next()?,
                name: f.next()?,
            })
        })
        .collect()
}

/// WordNet id (`n01440764`) → ImageNet class index.
pub fn imagenet_wnid_index() -> HashMap<&'static str, usize> {
    imagenet_classes()
        .into_iter()
        .map(|c| (c.wnid, c.index))
        .collect()
}

/// The WordNet id that starts a file name (`n01440764_tench.JPEG` → `n01440764`): `n` and
/// eight digits.
pub fn leading_wnid(file_name: &str) -> Option<&str> {
    let id = file_name.get(..9)?;
    let digits = id.strip_prefix('n')?;
    digits.bytes().all(|b| b.is_ascii_digit()).then_some(id)
}

/// Names of a model's classes.
#[derive(Clone, Debug, PartialEq)]
pub struct Labels {
    names: Vec<String>,
    /// WordNet ids where the names are the ImageNet classes.
    wnids: Option<Vec<String>>,
}

impl Labels {
    /// The built-in names for a model with `classes` outputs: ImageNet for 1000, CIFAR-10 for
    /// 10, otherwise the class indices.
    pub fn for_classes(classes: usize) -> Self {
        match classes {
            1000 => {
                let all = imagenet_classes();
                Labels {
                    names: all.iter().map(|c| c.name.to_string()).collect(),
                    wnids: Some(all.iter().map(|c| c.wnid.to_string()).collect()),
                }
            }
            10 => Labels::from_names(CIFAR10.iter().map(|s| s.to_string()).collect()),
            n => Labels::from_names((0..n).map(|i| i.to_string()).collect()),
        }
    }

    pub fn from_names(names: Vec<String>) -> Self {
        Labels { names, wnids: None }
    }

    /// Reads one name a line (surrounding blanks trimmed; trailing empty lines ignored) and
    /// checks that there is one per class.
    pub fn from_file(path: &Path, classes: usize) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let mut names: Vec<String> = text.lines().map(|l| l.trim().to_string()).collect();
        while names.last().is_some_and(|n| n.is_empty()) {
            names.pop();
        }
        if names.len() != classes {
            return Err(Error::InvalidInput(format!(
                "labels file {}: expected {classes} names (one a line, one per class of the model), found {}",
                path.display(),
                names.len()
            )));
        }
        Ok(Labels::from_names(names))
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The name of class `index` (the index itself past the end).
    pub fn name(&self, index: usize) -> String {
        self.names
            .get(index)
            .cloned()
            .unwrap_or_else(|| index.to_string())
    }

    /// The class a folder name stands for: a WordNet id of the ImageNet classes, or a name,
    /// compared without case and with `_`, `-` and ` ` taken as the same. A name that two
    /// classes share is an error, as is a name that matches none.
    pub fn lookup(&self, folder: &str) -> Result<usize> {
        if let Some(wnids) = &self.wnids {
            if let Some(i) = wnids.iter().position(|w| w == folder) {
                return Ok(i);
            }
        }
        let key = normalise(folder);
        let hits: Vec<usize> = (0..self.names.len())
            .filter(|&i| normalise(&self.names[i]) == key)
            .collect();
        match hits.as_slice() {
            [i] => Ok(*i),
            [] => {
                let mut some: Vec<&str> = self.names.iter().take(10).map(|s| s.as_str()).collect();
                if self.names.len() > 10 {
                    some.push("...");
                }
                Err(Error::InvalidInput(format!(
                    "folder name `{folder}` matches no class name; expected one of: {}",
                    some.join(", ")
                )))
            }
            many => Err(Error::InvalidInput(format!(
                "folder name `{folder}` matches {} classes ({many:?}); name the folders by WordNet id instead",
                many.len()
            ))),
        }
    }
}

fn normalise(name: &str) -> String {
    name.chars()
        .map(|c| match c {
            '_' | '-' => ' ',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imagenet_table_is_complete_and_ordered() {
        let all = imagenet_classes();
        assert_eq!(all.len(), 1000);
        assert!(all.iter().enumerate().all(|(i, c)| c.index == i));
        assert_eq!(imagenet_wnid_index().len(), 1000);
        assert_eq!(all[0].wnid, "n01440764");
    }

    #[test]
    fn wnid_prefix() {
        assert_eq!(leading_wnid("n01440764_tench.JPEG"), Some("n01440764"));
        assert_eq!(leading_wnid("n0144076x_tench.JPEG"), None);
        assert_eq!(leading_wnid("cat.jpg"), None);
    }

    #[test]
    fn folder_lookup() {
        let cifar = Labels::for_classes(10);
        assert_eq!(cifar.lookup("Automobile").ok(), Some(1));
        assert!(cifar.lookup("bicycle").is_err());
        let imagenet = Labels::for_classes(1000);
        assert_eq!(imagenet.lookup("great white shark").ok(), Some(2));
        assert_eq!(imagenet.lookup("n01443537").ok(), Some(1));
        // `crane` is both a bird and a machine.
        assert!(imagenet.lookup("crane").is_err());
        assert_eq!(Labels::for_classes(3).name(2), "2");
    }
}
