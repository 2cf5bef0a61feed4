module bench.example/cold260

go 1.21
