module bench.example/cold268

go 1.21
