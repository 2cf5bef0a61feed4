module bench.example/cold172

go 1.21
