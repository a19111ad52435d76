// VideoIO module
