module bench.example/cold244

go 1.21
