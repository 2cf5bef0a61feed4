module bench.example/cold286

go 1.21
