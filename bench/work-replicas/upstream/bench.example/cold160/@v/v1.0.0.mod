module bench.example/cold160

go 1.21
