package mmapfile
